//go:build cgo && !purego

#include "kernels.h"

// st_swiglu: y[n,f] = g/(1+e^{-g})·u with g = h[n,f], u = h[n,F+f]
// (st_exp clamps, so the sigmoid is finite for every finite g).
ST_CLONES
void st_swiglu(const float *restrict h, float *restrict y, long N, long F) {
	for (long n = 0; n < N; n++) {
		const float *g = h + 2 * n * F, *u = g + F;
		float *yr = y + n * F;
		for (long f = 0; f < F; f++) yr[f] = g[f] / (1 + st_exp(-g[f])) * u[f];
	}
}

// st_swiglu_bwd: dh [N,2F] from h and dy [N,F], s = sigmoid(g):
// dg = dy·u·s·(1 + g(1−s)), du = dy·g·s.
ST_CLONES
void st_swiglu_bwd(const float *restrict h, const float *restrict dy, float *restrict dh, long N, long F) {
	for (long n = 0; n < N; n++) {
		const float *g = h + 2 * n * F, *u = g + F, *d = dy + n * F;
		float *dg = dh + 2 * n * F, *du = dg + F;
		for (long f = 0; f < F; f++) {
			float gv = g[f];
			float s = 1 / (1 + st_exp(-gv));
			dg[f] = d[f] * u[f] * s * (1 + gv * (1 - s));
			du[f] = d[f] * gv * s;
		}
	}
}
