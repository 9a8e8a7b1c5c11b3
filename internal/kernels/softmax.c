//go:build cgo && !purego

#include "kernels.h"

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

// st_softmax_row is one row of st_softmax_core (the streaming engine's
// attention rows).
ST_CLONES
float st_softmax_row(float *row, long n, float extra, int has_extra) {
	return st_softmax_core(row, n, extra, has_extra);
}

// st_softmax_causal normalises rows i0..i0+n-1 of a causal score block
// (row r at p + r*ld): row i keeps its first i+1 entries, normalised with
// st_softmax_core, and zeroes the rest up to ncols; psink[r] receives the
// extra logit's probability.
ST_CLONES
void st_softmax_causal(float *p, long ld, long i0, long n, long ncols, float extra, int has_extra, float *psink) {
	for (long r = 0; r < n; r++) {
		float *row = p + r * ld;
		long vis = i0 + r + 1;
		psink[r] = st_softmax_core(row, vis, extra, has_extra);
		for (long j = vis; j < ncols; j++) row[j] = 0;
	}
}

// st_attn_ds: attention rows i0..i0+n-1 of a causal block (row r at
// p + r*ld and d + r*ld): from p (i0+r+1 visible columns) and dP in d,
// d_j = p_j (d_j - sum_k p_k d_k) scale for visible j, 0 up to ncols.
ST_CLONES
void st_attn_ds(const float *p, float *d, long ld, long i0, long n, long ncols, float scale) {
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

// st_seg_max returns the max of m and the n entries of s (16 lanes).
static inline __attribute__((always_inline)) float st_seg_max(const float *s, long n, float m) {
	float ml[16];
	for (int l = 0; l < 16; l++) ml[l] = m;
	long j = 0;
	for (; j + 16 <= n; j += 16)
		for (int l = 0; l < 16; l++) ml[l] = s[j + l] > ml[l] ? s[j + l] : ml[l];
	for (int l = 0; l < 16; l++) m = ml[l] > m ? ml[l] : m;
	for (; j < n; j++) m = s[j] > m ? s[j] : m;
	return m;
}

// st_seg_exp replaces the n entries of s by e^(s-m) and returns their sum
// (16 lanes).
static inline __attribute__((always_inline)) float st_seg_exp(float *s, long n, float m) {
	float zl[16] = {0};
	long j = 0;
	for (; j + 16 <= n; j += 16)
		for (int l = 0; l < 16; l++) {
			float v = st_exp(s[j + l] - m);
			s[j + l] = v;
			zl[l] += v;
		}
	float z = 0;
	for (; j < n; j++) {
		float v = st_exp(s[j] - m);
		s[j] = v;
		z += v;
	}
	for (int l = 0; l < 16; l++) z += zl[l];
	return z;
}

// st_softmax_band normalises row[0:nsink] and row[lo:hi] as one softmax
// (extra logit when has_extra), zeroes row[nsink:lo] and row[hi:n], and
// returns the extra logit's probability (SoftmaxBand).
ST_CLONES
float st_softmax_band(float *row, long n, long nsink, long lo, long hi, float extra, int has_extra) {
	float m = has_extra ? extra : -__builtin_inff();
	m = st_seg_max(row, nsink, m);
	m = st_seg_max(row + lo, hi - lo, m);
	float z = st_seg_exp(row, nsink, m) + st_seg_exp(row + lo, hi - lo, m);
	float e = 0;
	if (has_extra) {
		e = st_exp(extra - m);
		z += e;
	}
	float inv = 1 / z;
	for (long j = 0; j < nsink; j++) row[j] *= inv;
	for (long j = lo; j < hi; j++) row[j] *= inv;
	for (long j = nsink; j < lo; j++) row[j] = 0;
	for (long j = hi; j < n; j++) row[j] = 0;
	return e * inv;
}
