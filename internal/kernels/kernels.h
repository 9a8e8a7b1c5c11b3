//go:build cgo && !purego

// The float32 kernels of package kernels in C. Every function is compiled
// for AVX-512, AVX2+FMA and baseline x86-64 (ST_CLONES: gcc's target_clones
// picks one at load time) and written with 16-lane accumulators so that gcc
// vectorises the loops. Files adding kernels include this header, declare
// their functions here, and keep one kernel family per file.

#ifndef SINKTRAIN_KERNELS_H
#define SINKTRAIN_KERNELS_H

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define ST_CLONES __attribute__((target_clones("avx512f", "arch=haswell", "default")))
#else
#define ST_CLONES
#endif

// v16f is 16 float32 lanes (gcc vector extensions: one zmm for the AVX-512
// clone, two ymm for AVX2); v8f and v4f are its halves and quarters.
typedef float v16f __attribute__((vector_size(64)));
typedef float v8f __attribute__((vector_size(32)));
typedef float v4f __attribute__((vector_size(16)));

// HSUM16 sets s to the sum of the 16 lanes of a by halves: lane l + lane
// l+8, then l + l+4, l + l+2, l + l+1 (gemvGo's order). A macro: a vector
// argument would change the baseline clone's ABI.
#define HSUM16(s, a)                                                                                                \
	do {                                                                                                            \
		v8f lo8_, hi8_;                                                                                             \
		memcpy(&lo8_, &(a), 32);                                                                                    \
		memcpy(&hi8_, (const char *)&(a) + 32, 32);                                                                 \
		v8f b_ = lo8_ + hi8_;                                                                                       \
		v4f lo4_, hi4_;                                                                                             \
		memcpy(&lo4_, &b_, 16);                                                                                     \
		memcpy(&hi4_, (const char *)&b_ + 16, 16);                                                                  \
		v4f c_ = lo4_ + hi4_;                                                                                       \
		(s) = (c_[0] + c_[2]) + (c_[1] + c_[3]);                                                                    \
	} while (0)

// st_dot_lanes sets *lanes to the 16 lane sums of sum_j w[j]*x[j] over the
// whole 16-column blocks of cols, in st_gemv's order: four 16-lane
// accumulators take the 16-column blocks of each 64 in turn (accumulator
// k, lane l: columns 64i + 16k + l), accumulator 0 also the whole
// 16-column blocks after the last 64, then (a0 + a1) + (a2 + a3) lane by
// lane (products may be fused). pf > 0 prefetches w that many values
// ahead. Inlined into each caller's clone.
static inline __attribute__((always_inline)) void st_dot_lanes(const float *restrict w, const float *restrict x,
                                                               long cols, long pf, v16f *restrict lanes) {
	long whole = cols / 16 * 16, quad = cols / 64 * 64;
	v16f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
	long j = 0;
	for (; j < quad; j += 64) {
		if (pf > 0) {
			__builtin_prefetch(w + j + pf);
			__builtin_prefetch(w + j + pf + 16);
			__builtin_prefetch(w + j + pf + 32);
			__builtin_prefetch(w + j + pf + 48);
		}
		v16f f0, f1, f2, f3, x0, x1, x2, x3;
		memcpy(&f0, w + j, sizeof f0);
		memcpy(&f1, w + j + 16, sizeof f1);
		memcpy(&f2, w + j + 32, sizeof f2);
		memcpy(&f3, w + j + 48, sizeof f3);
		memcpy(&x0, x + j, sizeof x0);
		memcpy(&x1, x + j + 16, sizeof x1);
		memcpy(&x2, x + j + 32, sizeof x2);
		memcpy(&x3, x + j + 48, sizeof x3);
		a0 += f0 * x0;
		a1 += f1 * x1;
		a2 += f2 * x2;
		a3 += f3 * x3;
	}
	for (; j < whole; j += 16) {
		v16f f, xv;
		memcpy(&f, w + j, sizeof f);
		memcpy(&xv, x + j, sizeof xv);
		a0 += f * xv;
	}
	*lanes = (a0 + a1) + (a2 + a3);
}

// st_dot is sum_j w[j]*x[j] < cols in st_gemv's (and gemvGo's) order:
// st_dot_lanes, its lanes by halves (HSUM16), plus the tail columns' sum
// in order.
static inline __attribute__((always_inline)) float st_dot(const float *restrict w, const float *restrict x, long cols,
                                                          long pf) {
	v16f a;
	st_dot_lanes(w, x, cols, pf, &a);
	float s, t = 0;
	HSUM16(s, a);
	for (long j = cols / 16 * 16; j < cols; j++) t += w[j] * x[j];
	return s + t;
}

// st_hsum16x16 sets out[t] to the sum of the 16 lanes of a[t], t < 16, in
// HSUM16's order (lane l + lane l+8, then l + l+4, l + l+2, l + l+1),
// sixteen rows at once: each level adds the shuffled halves of two vectors,
// 45 vector operations instead of 16 HSUM16s.
static inline __attribute__((always_inline)) void st_hsum16x16(const v16f *restrict a, float *restrict out) {
	typedef int32_t v16i __attribute__((vector_size(64)));
	const v16i lo8 = {0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23};
	const v16i hi8 = {8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31};
	const v16i lo4 = {0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27};
	const v16i hi4 = {4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31};
	const v16i lo2 = {0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29};
	const v16i hi2 = {2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31};
	const v16i lo1 = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30};
	const v16i hi1 = {1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31};
	v16f b[8], c[4], d[2];
	// b[i]: lanes 0–7 row 2i's l + l+8, lanes 8–15 row 2i+1's.
	for (int i = 0; i < 8; i++)
		b[i] = __builtin_shuffle(a[2 * i], a[2 * i + 1], lo8) + __builtin_shuffle(a[2 * i], a[2 * i + 1], hi8);
	// c[i]: four lanes per row 4i..4i+3, each + the one 4 lanes on.
	for (int i = 0; i < 4; i++)
		c[i] = __builtin_shuffle(b[2 * i], b[2 * i + 1], lo4) + __builtin_shuffle(b[2 * i], b[2 * i + 1], hi4);
	// d[i]: two lanes per row 8i..8i+7: (c0 + c2), (c1 + c3).
	for (int i = 0; i < 2; i++)
		d[i] = __builtin_shuffle(c[2 * i], c[2 * i + 1], lo2) + __builtin_shuffle(c[2 * i], c[2 * i + 1], hi2);
	v16f e = __builtin_shuffle(d[0], d[1], lo1) + __builtin_shuffle(d[0], d[1], hi1);
	memcpy(out, &e, 64);
}

// st_exp is Exp (exp.go): e^x within 2e-7 relative error for |x| ≤ 87,
// 0 below −87.34, +Inf above 88.38.
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

typedef struct {
	double sum;
	float max;
} st_row;

st_row st_exp_row(const float *z, float *e, long n);
float st_softmax_row(float *row, long n, float extra, int has_extra);
float st_softmax_band(float *row, long n, long nsink, long lo, long hi, float extra, int has_extra);
void st_softmax_causal(float *p, long ld, long i0, long n, long ncols, float extra, int has_extra, float *psink);
void st_attn_ds(const float *p, float *d, long ld, long i0, long n, long ncols, float scale);
void st_gelu(const float *x, float *y, float *d, long n);
void st_layernorm(const float *x, const float *w, const float *b, float *y, long N, long D, double eps);
void st_layernorm_bwd(const float *x, const float *w, const float *dy, float *out, long N, long D, double eps, int wrt_w);
void st_colsum(const float *x, float *y, long N, long F);
void st_mul(const float *a, const float *b, float *y, long n);
void st_scale(const float *x, float *y, float s, long n);
void st_rmsnorm(const float *restrict x, const float *restrict w, float *restrict y, long N, long D, double eps);
void st_rmsnorm_bwd(const float *restrict x, const float *restrict w, const float *restrict dy, float *restrict out,
                    long N, long D, double eps, int wrt_w);
void st_swiglu(const float *restrict h, float *restrict y, long N, long F);
void st_swiglu_bwd(const float *restrict h, const float *restrict dy, float *restrict dh, long N, long F);
void st_gemv(const float *restrict w, const float *restrict x, float *restrict y, long rows, long cols, float beta);
// st_attention is one decoding step's attention over one layer's cache
// (kernels.Attention).
typedef struct {
	const float *q, *qsink; // [H*hd] queries rotated by their position / their cache position
	const float *k, *v;     // [KV][cap][hd]
	const float *extra;     // [H] extra logits, or NULL
	float *scores;          // [H][cap]
	float *out;             // [H*hd]
	long H, KV, hd, cap, nseg;
	long seg[6];      // nseg [start, end) cache slot ranges
	int sink_seg[3];  // which segments use qsink
	float scale;
	int has_extra;
} st_attention;

struct st_pool;
void st_pool_attend(struct st_pool *p, const float *q, const float *qsink, const float *k, const float *v,
                    const float *extra, float *scores, float *out, long H, long KV, long hd, long cap, long nseg,
                    const long *seg, int sink_mask, float scale, int has_extra);
struct st_pool *st_pool_new(int n);
void st_pool_free(struct st_pool *p);
void st_pool_gemv(struct st_pool *p, int nm, const float *w0, float *y0, long r0, const float *w1, float *y1, long r1,
                  const float *w2, float *y2, long r2, const float *x, long cols, float beta);
void st_pool_gemv_panels(struct st_pool *p, int nm, const uint16_t *w0, const float *b0, float *y0, long r0,
                         const uint16_t *w1, const float *b1, float *y1, long r1, const uint16_t *w2, const float *b2,
                         float *y2, long r2, const uint16_t *x, long kp, float beta);
void st_attn_scores(const float *restrict q, long r, long hd, const float *restrict k, long n, float scale,
                    float *restrict s, long lds);
void st_attn_values(const float *restrict p, long ldp, long r, const float *restrict v, long n, long hd,
                    float *restrict out, long ldo);
void st_round_bf16(const float *restrict src, uint16_t *restrict dst, long n);
int st_bf16_dot(void);
void st_gemv_panels(const uint16_t *w, const uint16_t *x, const float *bias, float *y, long rows, long kp, float beta,
                    int widen);
void st_gemm_panels(const uint16_t *x, long ldx, long T, const uint16_t *w, long rows, long kp, const float *bias,
                    float *y, long ldy, float beta, int widen);
void st_rope(float *qkv, float *heads, const float *cos, const float *sin, long B, long T, long hd, long W,
             const int64_t *cols, long S, long nrot, long half, int back);
int st_adamw(float *w, const float *g, float *m, float *v, long n, float scale, float b1, float b2, float shrink,
             float step, float isbc2, float eps);

#endif
