package gemm

// Sgemm computes c = alpha·op(a)·op(b) + beta·c for row-major matrices:
// op(a) is [m, k] (a itself, or aᵀ when transA), op(b) is [k, n], c is
// [m, n], with leading dimensions lda, ldb and ldc. Lengths are the
// caller's to check, as in any BLAS; m, n or k of 0 does nothing but scale
// c by beta (k = 0).
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 { // c = beta·c
		for i := range m {
			row := c[i*ldc : i*ldc+n]
			for j := range row {
				row[j] *= beta
			}
		}
		return
	}
	sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Sgemv computes y = alpha·a·x + beta·y for a row-major a [m, n] (x [n],
// y [m]), or y = alpha·aᵀ·x + beta·y when trans (x [m], y [n]); unit
// strides.
func Sgemv(trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
	if m == 0 || n == 0 {
		return
	}
	sgemv(trans, m, n, alpha, a, lda, x, beta, y)
}
