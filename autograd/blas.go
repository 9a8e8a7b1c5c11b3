package autograd

import (
	"sync"

	"gonum.org/v1/gonum/blas"
	G "gorgonia.org/gorgonia"

	"github.com/sinktrain/sinktrain/internal/kernels"
)

// Impl is the BLAS implementation the ops call: single and double precision.
type Impl interface {
	blas.Float32
	blas.Float64
}

// BLAS returns the BLAS implementation selected at build time: OpenBLAS
// through gonum.org/v1/netlib by default, gonum's pure-Go BLAS with the
// purego build tag.
func BLAS() Impl { return impl() }

// BLASName names the implementation BLAS returns ("openblas" or "gonum").
func BLASName() string { return implName }

var useOnce sync.Once

// UseGorgoniaBLAS makes gorgonia's own ops (Mul, BatchedMatMul, …) use the
// same BLAS as this package. gorgonia.Use is process-wide; this function
// calls it once however often it is called.
func UseGorgoniaBLAS() {
	useOnce.Do(func() { G.Use(fullImpl()) })
}

// SetBLASThreads sets the number of threads OpenBLAS uses for one call
// (no-op for the pure-Go BLAS). Use 1 when several graphs run in parallel
// goroutines, one per core.
func SetBLASThreads(n int) { setThreads(n) }

// Float is the element type of the tensors the ops accept.
type Float = kernels.Float

// gemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices, where
// op(X) is X or Xᵀ; op(A) is [m,k], op(B) is [k,n], C is [m,n].
func gemm[T Float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	ta, tb := blas.NoTrans, blas.NoTrans
	if tA {
		ta = blas.Trans
	}
	if tB {
		tb = blas.Trans
	}
	switch a := any(a).(type) {
	case []float32:
		BLAS().Sgemm(ta, tb, m, n, k, float32(alpha), a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case []float64:
		BLAS().Dgemm(ta, tb, m, n, k, float64(alpha), a, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	}
}
