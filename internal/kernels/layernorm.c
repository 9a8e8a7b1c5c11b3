//go:build cgo && !purego

#include "kernels.h"

// st_row_stats: mean and 1/sqrt(var+eps) of one row (16 float lanes, combined in double).
static inline void st_row_stats(const float *x, long D, double eps, float *mu, float *r) {
	float a[16] = {0};
	long j = 0;
	for (; j + 16 <= D; j += 16)
		for (int l = 0; l < 16; l++) a[l] += x[j + l];
	double s = 0;
	for (; j < D; j++) s += x[j];
	for (int l = 0; l < 16; l++) s += a[l];
	float m = (float)(s / D);
	float q[16] = {0};
	j = 0;
	for (; j + 16 <= D; j += 16)
		for (int l = 0; l < 16; l++) {
			float d = x[j + l] - m;
			q[l] += d * d;
		}
	double qs = 0;
	for (; j < D; j++) qs += (double)(x[j] - m) * (x[j] - m);
	for (int l = 0; l < 16; l++) qs += q[l];
	*mu = m;
	*r = (float)(1 / __builtin_sqrt(qs / D + eps));
}

ST_CLONES
void st_layernorm(const float *x, const float *w, const float *b, float *y, long N, long D, double eps) {
	for (long i = 0; i < N; i++) {
		const float *xr = x + i * D;
		float *yr = y + i * D;
		float m, r;
		st_row_stats(xr, D, eps, &m, &r);
		for (long j = 0; j < D; j++) yr[j] = (xr[j] - m) * r * w[j] + b[j];
	}
}

// st_layernorm_bwd writes dx [N,D] into out, or dw [D] when wrt_w.
ST_CLONES
void st_layernorm_bwd(const float *x, const float *w, const float *dy, float *out, long N, long D, double eps, int wrt_w) {
	if (wrt_w)
		for (long j = 0; j < D; j++) out[j] = 0;
	for (long i = 0; i < N; i++) {
		const float *xr = x + i * D, *dyr = dy + i * D;
		float m, r;
		st_row_stats(xr, D, eps, &m, &r);
		if (wrt_w) {
			for (long j = 0; j < D; j++) out[j] += dyr[j] * (xr[j] - m) * r;
			continue;
		}
		float sg[16] = {0}, sgx[16] = {0};
		long j = 0;
		for (; j + 16 <= D; j += 16)
			for (int l = 0; l < 16; l++) {
				float g = dyr[j + l] * w[j + l];
				sg[l] += g;
				sgx[l] += g * ((xr[j + l] - m) * r);
			}
		double tg = 0, tgx = 0;
		for (; j < D; j++) {
			float g = dyr[j] * w[j];
			tg += g;
			tgx += g * ((xr[j] - m) * r);
		}
		for (int l = 0; l < 16; l++) {
			tg += sg[l];
			tgx += sgx[l];
		}
		float mg = (float)(tg / D), mgx = (float)(tgx / D);
		float *dx = out + i * D;
		for (j = 0; j < D; j++) dx[j] = (dyr[j] * w[j] - mg - (xr[j] - m) * r * mgx) * r;
	}
}
