//go:build cgo && !purego

#include "kernels.h"

// st_colsum: y[f] = sum_n x[n*F+f] (bias gradients).
ST_CLONES
void st_colsum(const float *x, float *y, long N, long F) {
	for (long f = 0; f < F; f++) y[f] = 0;
	for (long n = 0; n < N; n++) {
		const float *r = x + n * F;
		for (long f = 0; f < F; f++) y[f] += r[f];
	}
}

// st_mul: y = a*b elementwise (GELU backward with the stored GELU').
ST_CLONES
void st_mul(const float *a, const float *b, float *y, long n) {
	for (long i = 0; i < n; i++) y[i] = a[i] * b[i];
}

// st_scale: y = x*s (cross-entropy gradients from the stored exponentials).
ST_CLONES
void st_scale(const float *x, float *y, float s, long n) {
	for (long i = 0; i < n; i++) y[i] = x[i] * s;
}
