//go:build !purego

package autograd

// The float32 vocabulary-softmax and GELU kernels in C: the same algorithms
// as exp32/normal32 (fastmath.go), written with 16-lane accumulators so gcc
// vectorises them, and compiled for AVX-512, AVX2+FMA and baseline x86-64
// (target_clones picks at load time). One cgo call per row / per tensor.

/*
#cgo CFLAGS: -O3
#cgo LDFLAGS: -lm
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define ST_CLONES __attribute__((target_clones("avx512f", "arch=haswell", "default")))
#else
#define ST_CLONES
#endif

static inline float st_exp(float x) {
	const float log2e = 1.44269504088896341f, ln2hi = 0.693145751953125f, ln2lo = 1.428606765330187045e-06f;
	const float round = 12582912.f, maxArg = 88.37626f, minArg = -87.33654f;
	float xc = x < minArg ? minArg : (x > maxArg ? maxArg : x);
	float k = xc * log2e + round;
	k -= round;
	float r = xc - k * ln2hi - k * ln2lo;
	float p = 1 + r * (1 + r * (1.0f / 2 + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720 + r * (1.0f / 5040)))))));
	int32_t bits = ((int32_t)k + 127) << 23;
	float s;
	memcpy(&s, &bits, 4);
	float v = p * s;
	return x < minArg ? 0.0f : v;
}

typedef struct { double sum; float max; } st_row;

// st_exp_row returns max(z) and Σ e^{z−max}; stores e^{z−max} in e unless e is NULL.
ST_CLONES
static st_row st_exp_row(const float *z, float *e, long n) {
	float lane[16];
	for (int l = 0; l < 16; l++) lane[l] = z[0];
	long j = 0;
	for (; j + 16 <= n; j += 16)
		for (int l = 0; l < 16; l++) lane[l] = z[j + l] > lane[l] ? z[j + l] : lane[l];
	float m = z[0];
	for (int l = 0; l < 16; l++) m = lane[l] > m ? lane[l] : m;
	for (; j < n; j++) m = z[j] > m ? z[j] : m;
	float acc[16] = {0};
	double sum = 0;
	j = 0;
	if (e) {
		for (; j + 16 <= n; j += 16)
			for (int l = 0; l < 16; l++) {
				float v = st_exp(z[j + l] - m);
				e[j + l] = v;
				acc[l] += v;
			}
		for (; j < n; j++) {
			e[j] = st_exp(z[j] - m);
			sum += e[j];
		}
	} else {
		for (; j + 16 <= n; j += 16)
			for (int l = 0; l < 16; l++) acc[l] += st_exp(z[j + l] - m);
		for (; j < n; j++) sum += st_exp(z[j] - m);
	}
	for (int l = 0; l < 16; l++) sum += acc[l];
	st_row res = {sum, m};
	return res;
}

// st_softmax_core normalises row in place, with an extra logit in the
// denominator when has_extra, and returns the extra logit's probability.
// Max and sum run in 16 lanes so that gcc vectorises the exponentials.
static inline __attribute__((always_inline)) float st_softmax_core(float *row, long n, float extra, int has_extra) {
	float m = has_extra ? extra : row[0];
	float ml[16];
	for (int l = 0; l < 16; l++) ml[l] = m;
	long j = 0;
	for (; j + 16 <= n; j += 16)
		for (int l = 0; l < 16; l++) ml[l] = row[j + l] > ml[l] ? row[j + l] : ml[l];
	for (int l = 0; l < 16; l++) m = ml[l] > m ? ml[l] : m;
	for (; j < n; j++) m = row[j] > m ? row[j] : m;
	float zl[16] = {0};
	j = 0;
	for (; j + 16 <= n; j += 16)
		for (int l = 0; l < 16; l++) {
			float v = st_exp(row[j + l] - m);
			row[j + l] = v;
			zl[l] += v;
		}
	float z = 0, e = 0;
	for (; j < n; j++) {
		float v = st_exp(row[j] - m);
		row[j] = v;
		z += v;
	}
	for (int l = 0; l < 16; l++) z += zl[l];
	if (has_extra) {
		e = st_exp(extra - m);
		z += e;
	}
	float inv = 1 / z;
	for (j = 0; j < n; j++) row[j] *= inv;
	return e * inv;
}

// st_softmax_causal normalises rows i0..i0+n-1 of a causal score block
// (row r at p + r*ld): row i keeps its first i+1 entries, normalised with
// st_softmax_core, and zeroes the rest up to ncols; psink[r] receives the
// extra logit's probability.
ST_CLONES
static void st_softmax_causal(float *p, long ld, long i0, long n, long ncols, float extra, int has_extra, float *psink) {
	for (long r = 0; r < n; r++) {
		float *row = p + r * ld;
		long vis = i0 + r + 1;
		psink[r] = st_softmax_core(row, vis, extra, has_extra);
		for (long j = vis; j < ncols; j++) row[j] = 0;
	}
}

// st_gelu: y = x·Φ(x) and, unless d is NULL, d = Φ(x) + x·φ(x) (Φ by
// Abramowitz–Stegun 7.1.26 sharing the exponential of φ).
ST_CLONES
static void st_gelu(const float *x, float *y, float *d, long n) {
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
static void st_layernorm(const float *x, const float *w, const float *b, float *y, long N, long D, double eps) {
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
static void st_layernorm_bwd(const float *x, const float *w, const float *dy, float *out, long N, long D, double eps, int wrt_w) {
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

// st_colsum: y[f] = sum_n x[n*F+f] (bias gradients).
ST_CLONES
static void st_colsum(const float *x, float *y, long N, long F) {
	for (long f = 0; f < F; f++) y[f] = 0;
	for (long n = 0; n < N; n++) {
		const float *r = x + n * F;
		for (long f = 0; f < F; f++) y[f] += r[f];
	}
}

// st_mul: y = a*b elementwise (GELU backward with the stored GELU').
ST_CLONES
static void st_mul(const float *a, const float *b, float *y, long n) {
	for (long i = 0; i < n; i++) y[i] = a[i] * b[i];
}

// st_scale: y = x*s (cross-entropy backward from the stored exponentials).
ST_CLONES
static void st_scale(const float *x, float *y, float s, long n) {
	for (long i = 0; i < n; i++) y[i] = x[i] * s;
}

// st_attn_ds: attention rows i0..i0+n-1 of a causal block (row r at
// p + r*ld and d + r*ld): from p (i0+r+1 visible columns) and dP in d,
// d_j = p_j (d_j - sum_k p_k d_k) scale for visible j, 0 up to ncols.
ST_CLONES
static void st_attn_ds(const float *p, float *d, long ld, long i0, long n, long ncols, float scale) {
	for (long r = 0; r < n; r++) {
		const float *pr = p + r * ld;
		float *dr = d + r * ld;
		long nvis = i0 + r + 1;
		float a[16] = {0};
		long j = 0;
		for (; j + 16 <= nvis; j += 16)
			for (int l = 0; l < 16; l++) a[l] += pr[j + l] * dr[j + l];
		float di = 0;
		for (int l = 0; l < 16; l++) di += a[l];
		for (; j < nvis; j++) di += pr[j] * dr[j];
		for (j = 0; j < nvis; j++) dr[j] = pr[j] * (dr[j] - di) * scale;
		for (; j < ncols; j++) dr[j] = 0;
	}
}

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

// st_adamw: one AdamW update in place (AdamW32); returns 1 if every new
// weight is finite (the 16 lanes accumulate w-w, which is 0 unless NaN/Inf).
ST_CLONES
static int st_adamw(float *w, const float *g, float *m, float *v, long n, float scale, float b1, float b2,
                    float shrink, float step, float isbc2, float eps) {
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
*/
import "C"

import "unsafe"

// expRow32 returns max(r) and Σ e^{r−max}, storing e^{r−max} in dst unless
// dst is nil (len(dst) ≥ len(r)).
func expRow32(r, dst []float32) (float32, float64) {
	if len(r) == 0 {
		return 0, 0
	}
	var e *C.float
	if dst != nil {
		e = (*C.float)(unsafe.Pointer(&dst[:len(r)][0]))
	}
	res := C.st_exp_row((*C.float)(unsafe.Pointer(&r[0])), e, C.long(len(r)))
	return float32(res.max), float64(res.sum)
}

// gelu32 computes y = GELU(x) and, unless d is nil, d = GELU'(x).
func gelu32(x, y, d []float32) {
	if len(x) == 0 {
		return
	}
	var dp *C.float
	if d != nil {
		dp = (*C.float)(unsafe.Pointer(&d[:len(x)][0]))
	}
	C.st_gelu((*C.float)(unsafe.Pointer(&x[0])), (*C.float)(unsafe.Pointer(&y[:len(x)][0])), dp, C.long(len(x)))
}

// layerNorm32 is layerNormFwd for float32 (C kernel).
func layerNorm32(x, w, b, y []float32, D int, eps float64) {
	if len(x) < D || D == 0 {
		return
	}
	C.st_layernorm(cf(x), cf(w), cf(b), cf(y), C.long(len(x)/D), C.long(D), C.double(eps))
}

// layerNormBwd32 is layerNormBwd for float32 (C kernel).
func layerNormBwd32(x, w, dy, out []float32, D int, eps float64, wrtW bool) {
	if len(x) < D || D == 0 {
		return
	}
	wr := C.int(0)
	if wrtW {
		wr = 1
	}
	C.st_layernorm_bwd(cf(x), cf(w), cf(dy), cf(out), C.long(len(x)/D), C.long(D), C.double(eps), wr)
}

// cf returns a C pointer to the first element of a non-empty slice.
func cf(s []float32) *C.float { return (*C.float)(unsafe.Pointer(&s[0])) }

func colSum32(x, y []float32) {
	if len(y) == 0 {
		return
	}
	if len(x) < len(y) {
		clear(y)
		return
	}
	C.st_colsum(cf(x), cf(y), C.long(len(x)/len(y)), C.long(len(y)))
}

func mul32(a, b, y []float32) {
	if len(a) == 0 {
		return
	}
	C.st_mul(cf(a), cf(b[:len(a)]), cf(y[:len(a)]), C.long(len(a)))
}

func scale32(x, y []float32, s float32) {
	if len(x) == 0 {
		return
	}
	C.st_scale(cf(x), cf(y[:len(x)]), C.float(s), C.long(len(x)))
}

// attnDS32 turns the dP of the n rows of a causal attention block starting
// at row i0 (row r at p[r*ld:] and d[r*ld:]) into dS in place, as attnDSGo
// does row by row, zeroing each row's entries up to ncols.
func attnDS32(p, d []float32, ld, i0, n, ncols int, scale float32) {
	if n == 0 {
		return
	}
	_ = p[(n-1)*ld+i0+n-1]
	_ = d[(n-1)*ld+ncols-1]
	C.st_attn_ds(cf(p), cf(d), C.long(ld), C.long(i0), C.long(n), C.long(ncols), C.float(scale))
}

func adamW32(w, g, m, v []float32, c AdamWCoeffs) bool {
	return C.st_adamw(cf(w), cf(g), cf(m), cf(v), C.long(len(w)), C.float(c.Scale), C.float(c.Beta1), C.float(c.Beta2),
		C.float(c.Shrink), C.float(c.StepSize), C.float(c.InvSqrtBC2), C.float(c.Eps)) != 0
}

// softmaxCausal32 normalises the n rows of a causal attention block starting
// at row i0 (row r at p[r*ld:]): row i0+r keeps its first i0+r+1 scores,
// normalised as softmaxRow32Go does, and its entries up to ncols are zeroed;
// psink[r] receives the extra logit's share.
func softmaxCausal32(p []float32, ld, i0, n, ncols int, extra float32, hasExtra bool, psink []float32) {
	if n == 0 {
		return
	}
	_ = p[(n-1)*ld+ncols-1]
	_ = psink[n-1]
	h := C.int(0)
	if hasExtra {
		h = 1
	}
	C.st_softmax_causal(cf(p), C.long(ld), C.long(i0), C.long(n), C.long(ncols), C.float(extra), h, cf(psink))
}
