// Package openblas makes sure the BLAS behind training runs the kernels the
// CPU can run. Debian 12's OpenBLAS 0.3.21 (DYNAMIC_ARCH) picks its kernels
// when the library loads; on CPUs newer than it knows (e.g. recent Xeons) it
// falls back to "Prescott" (SSE3) kernels, 4× slower than its AVX-512 ones.
// [Ensure], called first thing in main (and in TestMain of the packages that
// benchmark BLAS), reads the core the library chose, compares it with what
// the CPU supports (CPUID) and, when the library under-chose, re-executes the
// process with OPENBLAS_CORETYPE set (the variable is only read when the
// library initialises). A value the user already set is respected.
//
// It imports only the standard library and klauspost/cpuid; the cgo half
// (OpenBLAS's openblas_get_corename) is left out by the purego build tag or
// CGO_ENABLED=0, where the pure-Go gonum BLAS is in use.
package openblas
