// Package gemm is the single-precision matrix products of the streaming
// engine (package infer): Sgemm and Sgemv on row-major matrices. Built with
// cgo (the default) they call OpenBLAS's cblas_sgemm and cblas_sgemv, the
// same library training uses; without cgo (CGO_ENABLED=0) or with the
// purego build tag they run gonum's pure-Go BLAS. [Impl] says which.
//
// Every call runs on the calling goroutine's thread: the engine splits its
// products over goroutines itself (one per core), so on first use the
// package sets OpenBLAS to one thread per call, as training does with
// several workers (autograd.SetBLASThreads(1)).
//
// gemm imports only the standard library, gonum's blas (the pure-Go
// build) and C; it must not import any sinktrain package.
package gemm
