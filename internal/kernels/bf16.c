//go:build cgo && !purego

#include <immintrin.h>

#include "kernels.h"

// Products over bfloat16 weight panels (bf16.go describes the layout):
// a matrix [rows, cols] is stored as panels of 16 rows whose columns are
// interleaved in pairs, so that one 64-byte load holds columns 2q and 2q+1
// of the panel's 16 rows — the operand of AVX512-BF16's vdpbf16ps, which
// multiplies and adds 32 bfloat16 pairs in float32. The inputs are
// bfloat16 too (st_round_bf16), as in llama.cpp's and transformers'
// bfloat16 products. CPUs without AVX512-BF16 run the widening kernels
// (ST_CLONES): the same products, exact in float32, summed in float32.

typedef uint32_t v16u __attribute__((vector_size(64)));

// st_round_bf16: dst[i] = src[i] rounded to bfloat16, nearest even (NaN
// stays a quiet NaN): checkpoint.Float32ToBF16.
ST_CLONES
void st_round_bf16(const float *restrict src, uint16_t *restrict dst, long n) {
	for (long i = 0; i < n; i++) {
		uint32_t b;
		memcpy(&b, src + i, 4);
		uint32_t r = (b + 0x7fff + ((b >> 16) & 1)) >> 16;
		dst[i] = (b & 0x7fffffff) > 0x7f800000 ? (uint16_t)((b >> 16) | 0x40) : (uint16_t)r;
	}
}

// st_bf16_dot reports whether this CPU (and its OS) runs vdpbf16ps: a
// read of what libgcc's constructor found at load (__builtin_cpu_init is
// needed only before constructors run), so every product may ask.
int st_bf16_dot(void) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
	return __builtin_cpu_supports("avx512bf16");
#else
	return 0;
#endif
}

// PAIR_LO and PAIR_HI widen the bfloat16 pairs of 16 words w (v16u) into
// f (v16f): column 2q (the low half of each word) and column 2q+1 (the
// high half). Macros, not functions: vector arguments would change the ABI
// of the baseline clone.
#define PAIR_LO(f, w)                                                                                               \
	do {                                                                                                            \
		v16u u_ = (w) << 16;                                                                                        \
		memcpy(&(f), &u_, sizeof(f));                                                                               \
	} while (0)
#define PAIR_HI(f, w)                                                                                               \
	do {                                                                                                            \
		v16u u_ = (w) & 0xffff0000u;                                                                                \
		memcpy(&(f), &u_, sizeof(f));                                                                               \
	} while (0)

static inline float bf16_at(const uint16_t *p) {
	uint32_t b = (uint32_t)*p << 16;
	float f;
	memcpy(&f, &b, 4);
	return f;
}

// store16 writes the first n (≤ 16) of the lanes t plus bias (when not
// NULL) to y, added to y's values when beta is 1.
static inline void store16(float *y, const float *t, const float *bias, long n, float beta) {
	for (long i = 0; i < n; i++) {
		float v = bias ? t[i] + bias[i] : t[i];
		y[i] = beta != 0 ? v + y[i] : v;
	}
}

// ST_TILE_WIDEN_MR is the rows of x of one tile of the widening matrix
// product (tile_widen: those rows times one panel, over all column pairs).
#define ST_TILE_WIDEN_MR 4

static inline __attribute__((always_inline)) void tile_widen(const uint16_t *restrict x, long ldx,
                                                            const uint16_t *restrict wp, long kp,
                                                            const float *bias, float *restrict y, long ldy,
                                                            float beta, int mr, long n) {
	v16f acc[ST_TILE_WIDEN_MR] = {{0}};
	for (long q = 0; q < kp; q++) {
		v16u wv;
		v16f lo, hi;
		memcpy(&wv, wp + q * 32, sizeof wv);
		PAIR_LO(lo, wv);
		PAIR_HI(hi, wv);
		for (int m = 0; m < mr; m++)
			acc[m] += lo * bf16_at(x + m * ldx + 2 * q) + hi * bf16_at(x + m * ldx + 2 * q + 1);
	}
	for (int m = 0; m < mr; m++) {
		float t[16];
		memcpy(t, &acc[m], sizeof t);
		store16(y + m * ldy, t, bias, n, beta);
	}
}

ST_CLONES
static void gemm_widen(const uint16_t *restrict x, long ldx, long T, const uint16_t *restrict w, long rows, long kp,
                       const float *bias, float *restrict y, long ldy, float beta) {
	for (long p = 0; p * 16 < rows; p++) {
		long n = rows - p * 16 < 16 ? rows - p * 16 : 16;
		const uint16_t *wp = w + p * kp * 32;
		for (long m = 0; m < T; m += ST_TILE_WIDEN_MR) {
			const uint16_t *xm = x + m * ldx;
			const float *bp = bias ? bias + p * 16 : 0;
			float *ym = y + m * ldy + p * 16;
			switch (T - m < ST_TILE_WIDEN_MR ? T - m : ST_TILE_WIDEN_MR) {
			case 1: tile_widen(xm, ldx, wp, kp, bp, ym, ldy, beta, 1, n); break;
			case 2: tile_widen(xm, ldx, wp, kp, bp, ym, ldy, beta, 2, n); break;
			case 3: tile_widen(xm, ldx, wp, kp, bp, ym, ldy, beta, 3, n); break;
			default: tile_widen(xm, ldx, wp, kp, bp, ym, ldy, beta, 4, n); break;
			}
		}
	}
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define ST_DP __attribute__((target("avx512f,avx512bf16")))

// dp_store writes the first n lanes of s plus bias (when not NULL) to y
// (plus y when beta is 1).
ST_DP static inline __attribute__((always_inline)) void dp_store(float *y, __m512 s, const float *bias, long n,
                                                                float beta) {
	__mmask16 k = n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
	if (bias) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(k, bias));
	if (beta != 0) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(k, y));
	_mm512_mask_storeu_ps(y, k, s);
}

// ST_PANEL_PREFETCH is how far ahead of its loads gemv_dp prefetches a
// panel (bfloat16 values), 0 for not at all: on the 2-core EPYC every
// distance tried (1–8 KiB) lowered its rate from memory (16 → 10–13
// GB/s). Builds may set it (CGO_CFLAGS=-DST_PANEL_PREFETCH=N).
#ifndef ST_PANEL_PREFETCH
#define ST_PANEL_PREFETCH 0
#endif

ST_DP static void gemv_dp(const uint16_t *restrict w, const uint16_t *restrict x, const float *bias,
                          float *restrict y, long rows, long kp, float beta) {
	const int32_t *xp = (const int32_t *)x;
	for (long p = 0; p * 16 < rows; p++) {
		const uint16_t *wp = w + p * kp * 32;
		__m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
		long q = 0;
		for (; q + 4 <= kp; q += 4) {
#if ST_PANEL_PREFETCH > 0
			for (int l = 0; l < 4; l++) __builtin_prefetch(wp + (q + l) * 32 + ST_PANEL_PREFETCH);
#endif
			a0 = _mm512_dpbf16_ps(a0, (__m512bh)_mm512_set1_epi32(xp[q]), (__m512bh)_mm512_loadu_si512(wp + q * 32));
			a1 = _mm512_dpbf16_ps(a1, (__m512bh)_mm512_set1_epi32(xp[q + 1]),
			                      (__m512bh)_mm512_loadu_si512(wp + q * 32 + 32));
			a2 = _mm512_dpbf16_ps(a2, (__m512bh)_mm512_set1_epi32(xp[q + 2]),
			                      (__m512bh)_mm512_loadu_si512(wp + q * 32 + 64));
			a3 = _mm512_dpbf16_ps(a3, (__m512bh)_mm512_set1_epi32(xp[q + 3]),
			                      (__m512bh)_mm512_loadu_si512(wp + q * 32 + 96));
		}
		for (; q < kp; q++)
			a0 = _mm512_dpbf16_ps(a0, (__m512bh)_mm512_set1_epi32(xp[q]), (__m512bh)_mm512_loadu_si512(wp + q * 32));
		dp_store(y + p * 16, _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)), bias ? bias + p * 16 : 0,
		         rows - p * 16, beta);
	}
}

// tile_dp: MR (≤ 8) rows of x times NP (≤ 3) panels, over all kp column
// pairs: 24 accumulators at most, each panel load shared by the rows and
// each broadcast pair of x by the panels.
ST_DP static inline __attribute__((always_inline)) void tile_dp(const uint16_t *restrict x, long ldx,
                                                               const uint16_t *restrict wp, long kp,
                                                               const float *bias, float *restrict y, long ldy,
                                                               float beta, int mr, int np, long n) {
	__m512 acc[8][3];
	for (int m = 0; m < mr; m++)
		for (int v = 0; v < np; v++) acc[m][v] = _mm512_setzero_ps();
	const int32_t *xr = (const int32_t *)x;
	long ld = ldx / 2;
	for (long q = 0; q < kp; q++) {
		__m512i b[3];
		for (int v = 0; v < np; v++) b[v] = _mm512_loadu_si512(wp + (v * kp + q) * 32);
		for (int m = 0; m < mr; m++) {
			__m512i a = _mm512_set1_epi32(xr[m * ld + q]);
			for (int v = 0; v < np; v++) acc[m][v] = _mm512_dpbf16_ps(acc[m][v], (__m512bh)a, (__m512bh)b[v]);
		}
	}
	for (int m = 0; m < mr; m++)
		for (int v = 0; v < np && v * 16 < n; v++)
			dp_store(y + m * ldy + v * 16, acc[m][v], bias ? bias + v * 16 : 0, n - v * 16, beta);
}

#define ST_DP_CASE(MR, NP)                                                                                          \
	case (MR) * 4 + (NP):                                                                                           \
		tile_dp(xm, ldx, wp, kp, bp, ym, ldy, beta, MR, NP, n);                                                         \
		break;
#define ST_DP_ROW(MR) ST_DP_CASE(MR, 1) ST_DP_CASE(MR, 2) ST_DP_CASE(MR, 3)

ST_DP static void gemm_dp(const uint16_t *restrict x, long ldx, long T, const uint16_t *restrict w, long rows, long kp,
                          const float *bias, float *restrict y, long ldy, float beta) {
	long npan = (rows + 15) / 16;
	for (long p = 0; p < npan; p += 3) {
		int np = npan - p < 3 ? (int)(npan - p) : 3;
		long n = rows - p * 16 < 48 ? rows - p * 16 : 48;
		const uint16_t *wp = w + p * kp * 32;
		const float *bp = bias ? bias + p * 16 : 0;
		for (long m = 0; m < T; m += 8) {
			int mr = T - m < 8 ? (int)(T - m) : 8;
			const uint16_t *xm = x + m * ldx;
			float *ym = y + m * ldy + p * 16;
			switch (mr * 4 + np) {
				ST_DP_ROW(1) ST_DP_ROW(2) ST_DP_ROW(3) ST_DP_ROW(4) ST_DP_ROW(5) ST_DP_ROW(6) ST_DP_ROW(7) ST_DP_ROW(8)
			}
		}
	}
}
#endif

// st_gemv_panels: y[r] = beta*y[r] + sum_j w[r][j]*x[j] + bias[r] for r
// < rows (bias NULL: none), w as panels of kp column pairs, x [2kp]
// bfloat16. widen != 0 runs the widening kernel on any CPU (the tests'
// way to check it).
void st_gemv_panels(const uint16_t *w, const uint16_t *x, const float *bias, float *y, long rows, long kp, float beta,
                    int widen) {
#ifdef ST_DP
	if (!widen && st_bf16_dot()) {
		gemv_dp(w, x, bias, y, rows, kp, beta);
		return;
	}
#endif
	gemm_widen(x, 2 * kp, 1, w, rows, kp, bias, y, 0, beta);
}

// st_gemm_panels: y[t][r] = beta*y[t][r] + sum_j x[t][j]*w[r][j] + bias[r]
// for t < T, r < rows (x [T][ldx] bfloat16, y rows ldy apart).
void st_gemm_panels(const uint16_t *x, long ldx, long T, const uint16_t *w, long rows, long kp, const float *bias,
                    float *y, long ldy, float beta, int widen) {
#ifdef ST_DP
	if (!widen && st_bf16_dot()) {
		gemm_dp(x, ldx, T, w, rows, kp, bias, y, ldy, beta);
		return;
	}
#endif
	gemm_widen(x, ldx, T, w, rows, kp, bias, y, ldy, beta);
}
