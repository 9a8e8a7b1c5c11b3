//go:build cgo && !purego

#include "kernels.h"

// st_rms_inv: 1/sqrt(mean(x^2) + eps) of one row (16 float lanes, combined in double).
static inline float st_rms_inv(const float *x, long D, double eps) {
	float a[16] = {0};
	long j = 0;
	for (; j + 16 <= D; j += 16)
		for (int l = 0; l < 16; l++) a[l] += x[j + l] * x[j + l];
	double s = 0;
	for (; j < D; j++) s += (double)x[j] * x[j];
	for (int l = 0; l < 16; l++) s += a[l];
	return (float)(1 / __builtin_sqrt(s / D + eps));
}

ST_CLONES
void st_rmsnorm(const float *restrict x, const float *restrict w, float *restrict y, long N, long D, double eps) {
	for (long i = 0; i < N; i++) {
		const float *xr = x + i * D;
		float *yr = y + i * D;
		float r = st_rms_inv(xr, D, eps);
		for (long j = 0; j < D; j++) yr[j] = (xr[j] * r) * w[j];
	}
}

// st_rmsnorm_bwd writes dx [N,D] into out, or dw [D] when wrt_w.
ST_CLONES
void st_rmsnorm_bwd(const float *restrict x, const float *restrict w, const float *restrict dy, float *restrict out,
                    long N, long D, double eps, int wrt_w) {
	if (wrt_w)
		for (long j = 0; j < D; j++) out[j] = 0;
	for (long i = 0; i < N; i++) {
		const float *xr = x + i * D, *dyr = dy + i * D;
		float r = st_rms_inv(xr, D, eps);
		if (wrt_w) {
			for (long j = 0; j < D; j++) out[j] += dyr[j] * (xr[j] * r);
			continue;
		}
		float a[16] = {0};
		long j = 0;
		for (; j + 16 <= D; j += 16)
			for (int l = 0; l < 16; l++) a[l] += dyr[j + l] * w[j + l] * (xr[j + l] * r);
		double s = 0;
		for (; j < D; j++) s += dyr[j] * w[j] * (xr[j] * r);
		for (int l = 0; l < 16; l++) s += a[l];
		float m = (float)(s / D);
		float *dx = out + i * D;
		for (j = 0; j < D; j++) dx[j] = r * (dyr[j] * w[j] - xr[j] * r * m);
	}
}
