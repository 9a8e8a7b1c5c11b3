//go:build cgo && !purego

#include "kernels.h"

// st_gelu: y = x·Φ(x) and, unless d is NULL, d = Φ(x) + x·φ(x) (Φ by
// Abramowitz–Stegun 7.1.26 sharing the exponential of φ). y may be x.
ST_CLONES
void st_gelu(const float *x, float *y, float *d, long n) {
	for (long i = 0; i < n; i++) {
		float v = x[i];
		float e = st_exp(-0.5f * v * v);
		float pdf = 0.39894228040143268f * e;
		float z = v * 0.70710678118654752f;
		z = z < 0 ? -z : z;
		float t = 1 / (1 + 0.3275911f * z);
		float erf = 1 - t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f)))) * e;
		erf = v < 0 ? -erf : erf;
		float cdf = 0.5f + 0.5f * erf;
		y[i] = v * cdf;
		if (d) d[i] = cdf + v * pdf;
	}
}
