//go:build cgo && !purego

#include "kernels.h"

// sqrtf without errno, so that gcc vectorises it (cgo refuses -fno-math-errno).
#pragma GCC push_options
#pragma GCC optimize("no-math-errno")
// st_adamw1 updates element i of w, m, v and returns the new weight.
static inline __attribute__((always_inline)) float st_adamw1(float *w, const float *g, float *m, float *v, long i,
                                                              float scale, float b1, float b2, float shrink, float step,
                                                              float isbc2, float eps) {
	float gi = g[i] * scale;
	float mi = b1 * m[i] + (1 - b1) * gi;
	float vi = b2 * v[i] + (1 - b2) * gi * gi;
	m[i] = mi;
	v[i] = vi;
	float wi = w[i] * shrink - step * mi / (__builtin_sqrtf(vi) * isbc2 + eps);
	w[i] = wi;
	return wi;
}

// st_adamw: one AdamW update in place (AdamW); returns 1 if every new
// weight is finite (the 16 lanes accumulate w-w, which is 0 unless NaN/Inf).
ST_CLONES
int st_adamw(float *w, const float *g, float *m, float *v, long n, float scale, float b1, float b2, float shrink,
             float step, float isbc2, float eps) {
	float chk[16] = {0};
	long i = 0;
	for (; i + 16 <= n; i += 16)
		for (int l = 0; l < 16; l++) {
			float wi = st_adamw1(w, g, m, v, i + l, scale, b1, b2, shrink, step, isbc2, eps);
			chk[l] += wi - wi;
		}
	float c = 0;
	for (; i < n; i++) {
		float wi = st_adamw1(w, g, m, v, i, scale, b1, b2, shrink, step, isbc2, eps);
		c += wi - wi;
	}
	for (int l = 0; l < 16; l++) c += chk[l];
	return c == 0;
}
#pragma GCC pop_options
