//go:build cgo && !purego

package gemm

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
*/
import "C"

import (
	"sync"
	"unsafe"
)

// Impl names the BLAS in use: "openblas" (cgo) or "gonum" (pure Go).
const Impl = "openblas"

var oneThread sync.Once // OpenBLAS is set to one thread per call on first use

func single() { oneThread.Do(func() { C.openblas_set_num_threads(1) }) }

func tr(t bool) C.enum_CBLAS_TRANSPOSE {
	if t {
		return C.CblasTrans
	}
	return C.CblasNoTrans
}

func fp(s []float32) *C.float { return (*C.float)(unsafe.Pointer(&s[0])) }

func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	single()
	C.cblas_sgemm(C.CblasRowMajor, tr(transA), tr(transB), C.blasint(m), C.blasint(n), C.blasint(k), C.float(alpha),
		fp(a), C.blasint(lda), fp(b), C.blasint(ldb), C.float(beta), fp(c), C.blasint(ldc))
}

func sgemv(trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
	single()
	C.cblas_sgemv(C.CblasRowMajor, tr(trans), C.blasint(m), C.blasint(n), C.float(alpha), fp(a), C.blasint(lda),
		fp(x), 1, C.float(beta), fp(y), 1)
}
