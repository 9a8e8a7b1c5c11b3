//go:build cgo && !purego

#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kernels.h"

// A pool of helper threads for one caller's matrix-vector products (a
// decoding step's): the caller posts a product, takes the first part
// itself, and waits for the helpers by spinning — all inside one C call, so
// a product costs no goroutine hand-off and no futex wake while the
// helpers are spinning. A helper spins for ST_POOL_SPIN_NS after its last
// part (a decoding step hands out products a few microseconds apart), then
// sleeps on a futex until the next one.

#ifndef ST_POOL_SPIN_NS
#define ST_POOL_SPIN_NS 200000
#endif
#ifndef ST_POOL_YIELD_NS
#define ST_POOL_YIELD_NS 50000
#endif

enum { JOB_GEMV = 1, JOB_PANELS = 2, JOB_ATTN = 3 };

// st_matrix is one matrix of a product job: its rows go to y[0..rows).
typedef struct {
	const float *w, *bias;
	const uint16_t *wp;
	float *y;
	long rows;
} st_matrix;

// A job multiplies x by up to three matrices one after the other (q, k
// and v; gate and up), their rows split over the parts as if stacked: one
// post, one wait, for all of them.
typedef struct {
	int kind;
	const st_attention *attn;
	const float *x;
	const uint16_t *xp;
	st_matrix m[3];
	int nm;
	long rows, cols, kp, per; // rows (attention: query heads) in all and per part
	float beta;
} st_job;

struct st_pool {
	int n; // parts: helpers + the caller
	pthread_t *th;
	st_job job;
	unsigned gen;  // bumped for each posted product (and to stop)
	int pending;   // helpers still running the current product
	int sleepers;  // helpers in (or about to enter) futex wait
	int quit;
};

typedef struct {
	struct st_pool *p;
	int part;
} st_helper;

static long now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

// attend_heads is st_attention's query heads [lo, hi), a kv head's query
// heads at a time: scores (st_attn_scores, the sink segments with the
// queries rotated by their cache position), softmax with the head's extra
// logit, then the weighted values (st_attn_values).
static void attend_heads(const st_attention *a, long lo, long hi) {
	long group = a->H / a->KV, hd = a->hd, cap = a->cap;
	for (long h0 = lo; h0 < hi;) {
		long g = h0 / group, h1 = (g + 1) * group < hi ? (g + 1) * group : hi, nh = h1 - h0;
		const float *hk = a->k + g * cap * hd, *hv = a->v + g * cap * hd;
		float *sc = a->scores + h0 * cap;
		long n = 0;
		for (long j = 0; j < a->nseg; j++) {
			long s0 = a->seg[2 * j], s1 = a->seg[2 * j + 1];
			const float *q = (a->sink_seg[j] ? a->qsink : a->q) + h0 * hd;
			st_attn_scores(q, nh, hd, hk + s0 * hd, s1 - s0, a->scale, sc + n, cap);
			n += s1 - s0;
		}
		for (long h = h0; h < h1; h++) st_softmax_row(sc + (h - h0) * cap, n, a->extra ? a->extra[h] : 0, a->has_extra);
		float *out = a->out + h0 * hd;
		memset(out, 0, nh * hd * sizeof *out);
		n = 0;
		for (long j = 0; j < a->nseg; j++) {
			long s0 = a->seg[2 * j], s1 = a->seg[2 * j + 1];
			st_attn_values(sc + n, cap, nh, hv + s0 * hd, s1 - s0, hd, out, hd);
			n += s1 - s0;
		}
		h0 = h1;
	}
}

static void run_part(const st_job *j, int part) {
	long lo = part * j->per, hi = lo + j->per;
	if (hi > j->rows) hi = j->rows;
	if (lo >= hi) return;
	if (j->kind == JOB_ATTN) {
		attend_heads(j->attn, lo, hi);
		return;
	}
	long off = 0; // first row of matrix i among the stacked rows
	for (int i = 0; i < j->nm; off += j->m[i].rows, i++) {
		const st_matrix *m = &j->m[i];
		long a = lo > off ? lo - off : 0, b = hi - off < m->rows ? hi - off : m->rows;
		if (a >= b) continue;
		if (j->kind == JOB_GEMV)
			st_gemv(m->w + a * j->cols, j->x, m->y + a, b - a, j->cols, j->beta);
		else
			st_gemv_panels(m->wp + a * 2 * j->kp, j->xp, m->bias ? m->bias + a : 0, m->y + a, b - a, j->kp, j->beta, 0);
	}
}

static void *helper_main(void *arg) {
	st_helper *h = arg;
	struct st_pool *p = h->p;
	unsigned seen = 0;
	for (;;) {
		unsigned g = __atomic_load_n(&p->gen, __ATOMIC_ACQUIRE);
		long start = now_ns();
		for (long s = 1; g == seen; s++) {
			__builtin_ia32_pause();
			if (s % 64 == 0 && now_ns() - start > ST_POOL_SPIN_NS) {
				__atomic_add_fetch(&p->sleepers, 1, __ATOMIC_SEQ_CST);
				if (__atomic_load_n(&p->gen, __ATOMIC_SEQ_CST) == seen)
					syscall(SYS_futex, &p->gen, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
				__atomic_sub_fetch(&p->sleepers, 1, __ATOMIC_SEQ_CST);
				start = now_ns();
			}
			g = __atomic_load_n(&p->gen, __ATOMIC_ACQUIRE);
		}
		seen = g;
		if (__atomic_load_n(&p->quit, __ATOMIC_ACQUIRE)) break;
		run_part(&p->job, h->part);
		__atomic_sub_fetch(&p->pending, 1, __ATOMIC_RELEASE);
	}
	free(h);
	return NULL;
}

// post runs j on every part and returns when all are done.
static void post(struct st_pool *p, const st_job *j) {
	if (p->n == 1) {
		run_part(j, 0);
		return;
	}
	p->job = *j;
	__atomic_store_n(&p->pending, p->n - 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&p->gen, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&p->sleepers, __ATOMIC_SEQ_CST) > 0)
		syscall(SYS_futex, &p->gen, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
	run_part(j, 0);
	// Spin for the helpers; past ST_POOL_YIELD_NS (a helper the OS has not
	// scheduled: more threads than cores, e.g. several sessions decoding at
	// once) yield the core between checks instead of burning it.
	long start = 0;
	for (long s = 1; __atomic_load_n(&p->pending, __ATOMIC_ACQUIRE) != 0; s++) {
		__builtin_ia32_pause();
		if (s % 64 == 0) {
			long now = now_ns();
			if (start == 0) {
				start = now;
			} else if (now - start > ST_POOL_YIELD_NS) {
				sched_yield();
			}
		}
	}
}

// st_pool_new starts n−1 helper threads; NULL if a thread cannot start.
struct st_pool *st_pool_new(int n) {
	struct st_pool *p = calloc(1, sizeof *p);
	if (!p) return NULL;
	p->n = n < 1 ? 1 : n;
	p->th = calloc(p->n, sizeof *p->th);
	if (!p->th) {
		free(p);
		return NULL;
	}
	for (int i = 1; i < p->n; i++) {
		st_helper *h = malloc(sizeof *h);
		if (h) {
			h->p = p;
			h->part = i;
		}
		if (!h || pthread_create(&p->th[i], NULL, helper_main, h) != 0) {
			free(h);
			p->n = i; // the helpers started so far are stopped by st_pool_free
			st_pool_free(p);
			return NULL;
		}
	}
	return p;
}

// st_pool_free stops the helpers and frees the pool.
void st_pool_free(struct st_pool *p) {
	__atomic_store_n(&p->quit, 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&p->gen, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &p->gen, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
	for (int i = 1; i < p->n; i++) pthread_join(p->th[i], NULL);
	free(p->th);
	free(p);
}

// per_part returns rows / n rounded up to a multiple of align.
static long per_part(long rows, int n, long align) {
	long k = (rows + n - 1) / n;
	return (k + align - 1) / align * align;
}

// post_stacked posts a product job, its matrices' rows stacked in parts
// of a multiple of 16.
static void post_stacked(struct st_pool *p, st_job *j) {
	for (int i = 0; i < j->nm; i++) j->rows += j->m[i].rows;
	j->per = per_part(j->rows, p->n, 16);
	post(p, j);
}

// st_pool_gemv is st_gemv of x by nm ≤ 3 matrices w[i] [rows[i], cols]
// into y[i] over the pool: the stacked rows in parts of a multiple of 16.
void st_pool_gemv(struct st_pool *p, int nm, const float *w0, float *y0, long r0, const float *w1, float *y1, long r1,
                  const float *w2, float *y2, long r2, const float *x, long cols, float beta) {
	st_job j = {.kind = JOB_GEMV, .x = x, .cols = cols, .beta = beta, .nm = nm,
	            .m = {{.w = w0, .y = y0, .rows = r0}, {.w = w1, .y = y1, .rows = r1}, {.w = w2, .y = y2, .rows = r2}}};
	post_stacked(p, &j);
}

// st_pool_gemv_panels is st_gemv_panels of x by nm ≤ 3 panel matrices
// (all but the last a multiple of 16 rows) over the pool: whole panels
// per part.
void st_pool_gemv_panels(struct st_pool *p, int nm, const uint16_t *w0, const float *b0, float *y0, long r0,
                         const uint16_t *w1, const float *b1, float *y1, long r1, const uint16_t *w2, const float *b2,
                         float *y2, long r2, const uint16_t *x, long kp, float beta) {
	st_job j = {.kind = JOB_PANELS, .xp = x, .kp = kp, .beta = beta, .nm = nm,
	            .m = {{.wp = w0, .bias = b0, .y = y0, .rows = r0},
	                  {.wp = w1, .bias = b1, .y = y1, .rows = r1},
	                  {.wp = w2, .bias = b2, .y = y2, .rows = r2}}};
	post_stacked(p, &j);
}

// st_pool_attend runs one decoding step's attention over the pool, query
// heads in n contiguous ranges (the arguments of st_attention, which is
// built here: Go may not pass a struct holding Go pointers).
void st_pool_attend(struct st_pool *p, const float *q, const float *qsink, const float *k, const float *v,
                    const float *extra, float *scores, float *out, long H, long KV, long hd, long cap, long nseg,
                    const long *seg, int sink_mask, float scale, int has_extra) {
	st_attention a = {.q = q, .qsink = qsink, .k = k, .v = v, .extra = extra, .scores = scores, .out = out,
	                  .H = H, .KV = KV, .hd = hd, .cap = cap, .nseg = nseg, .scale = scale, .has_extra = has_extra};
	for (long i = 0; i < nseg && i < 3; i++) {
		a.seg[2 * i] = seg[2 * i];
		a.seg[2 * i + 1] = seg[2 * i + 1];
		a.sink_seg[i] = (sink_mask >> i) & 1;
	}
	st_job j = {.kind = JOB_ATTN, .attn = &a, .rows = H, .per = per_part(H, p->n, 1)};
	post(p, &j);
}
