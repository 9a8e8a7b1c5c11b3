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
void st_pool_gemv(struct st_pool *p, const float *w, const float *x, float *y, long rows, long cols, float beta);
void st_pool_gemv_panels(struct st_pool *p, const uint16_t *w, const uint16_t *x, const float *bias, float *y, long rows,
                         long kp, float beta);
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
