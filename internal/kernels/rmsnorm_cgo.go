//go:build !purego

package kernels

// The float32 RMSNorm kernels in C: the algorithm of rmsnorm.go with the
// squares summed in 16 float lanes (combined in double) so that gcc
// vectorises the rows, compiled for AVX-512, AVX2+FMA and baseline x86-64
// (target_clones picks at load time). One cgo call per tensor.

/*
#cgo CFLAGS: -O3
#cgo LDFLAGS: -lm

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define KN_CLONES __attribute__((target_clones("avx512f", "arch=haswell", "default")))
#else
#define KN_CLONES
#endif

// kn_rms_inv: 1/sqrt(mean(x^2) + eps) of one row.
static inline __attribute__((always_inline)) float kn_rms_inv(const float *x, long D, double eps) {
	float a[16] = {0};
	long j = 0;
	for (; j + 16 <= D; j += 16)
		for (int l = 0; l < 16; l++) a[l] += x[j + l] * x[j + l];
	double s = 0;
	for (; j < D; j++) s += (double)x[j] * x[j];
	for (int l = 0; l < 16; l++) s += a[l];
	return (float)(1 / __builtin_sqrt(s / D + eps));
}

KN_CLONES
static void kn_rmsnorm(const float *restrict x, const float *restrict w, float *restrict y, long N, long D, double eps) {
	for (long i = 0; i < N; i++) {
		const float *xr = x + i * D;
		float *yr = y + i * D;
		float r = kn_rms_inv(xr, D, eps);
		for (long j = 0; j < D; j++) yr[j] = (xr[j] * r) * w[j];
	}
}

KN_CLONES
static void kn_rmsnorm_grad_x(const float *restrict x, const float *restrict w, const float *restrict dy, float *restrict dx, long N, long D, double eps) {
	for (long i = 0; i < N; i++) {
		const float *xr = x + i * D, *dyr = dy + i * D;
		float *dxr = dx + i * D;
		float r = kn_rms_inv(xr, D, eps);
		float a[16] = {0};
		long j = 0;
		for (; j + 16 <= D; j += 16)
			for (int l = 0; l < 16; l++) a[l] += dyr[j + l] * w[j + l] * (xr[j + l] * r);
		double s = 0;
		for (; j < D; j++) s += dyr[j] * w[j] * (xr[j] * r);
		for (int l = 0; l < 16; l++) s += a[l];
		float m = (float)(s / D);
		for (j = 0; j < D; j++) dxr[j] = r * (dyr[j] * w[j] - xr[j] * r * m);
	}
}

KN_CLONES
static void kn_rmsnorm_grad_w(const float *restrict x, const float *restrict dy, float *restrict dw, long N, long D, double eps) {
	for (long j = 0; j < D; j++) dw[j] = 0;
	for (long i = 0; i < N; i++) {
		const float *xr = x + i * D, *dyr = dy + i * D;
		float r = kn_rms_inv(xr, D, eps);
		for (long j = 0; j < D; j++) dw[j] += dyr[j] * (xr[j] * r);
	}
}
*/
import "C"

import "unsafe"

// RMSNorm32 is [RMSNorm] for float32 (C kernel).
func RMSNorm32(x, w, y []float32, D int, eps float64) {
	n := wholeRows(x, D)
	if n == 0 {
		return
	}
	C.kn_rmsnorm(cfloat(x), cfloat(w[:D]), cfloat(y[:n*D]), C.long(n), C.long(D), C.double(eps))
}

// RMSNormGradX32 is [RMSNormGradX] for float32 (C kernel).
func RMSNormGradX32(x, w, dy, dx []float32, D int, eps float64) {
	n := wholeRows(x, D)
	if n == 0 {
		return
	}
	C.kn_rmsnorm_grad_x(cfloat(x), cfloat(w[:D]), cfloat(dy[:n*D]), cfloat(dx[:n*D]), C.long(n), C.long(D), C.double(eps))
}

// RMSNormGradW32 is [RMSNormGradW] for float32 (C kernel).
func RMSNormGradW32(x, dy, dw []float32, D int, eps float64) {
	n := wholeRows(x, D)
	if n == 0 {
		clear(dw[:D])
		return
	}
	C.kn_rmsnorm_grad_w(cfloat(x), cfloat(dy[:n*D]), cfloat(dw[:D]), C.long(n), C.long(D), C.double(eps))
}

// wholeRows returns the number of whole rows of width D in x (0 if D ≤ 0).
func wholeRows(x []float32, D int) int {
	if D <= 0 {
		return 0
	}
	return len(x) / D
}

// cfloat returns a C pointer to the first element of a non-empty slice.
func cfloat(s []float32) *C.float { return (*C.float)(unsafe.Pointer(&s[0])) }
