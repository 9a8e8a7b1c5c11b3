//go:build cgo && !purego

#include "kernels.h"

// v16f is 16 float32 lanes (gcc vector extensions: one zmm for the AVX-512
// clone, two ymm for AVX2).
typedef float v16f __attribute__((vector_size(64)));

// ST_GEMV_PREFETCH is how far ahead of its loads st_gemv prefetches a row
// (float32 values: 4 KiB; on the 2-core EPYC from memory 19.7–22.8 GB/s
// against 16.0–21.8 at 1 KiB and 12–19 without); 0 prefetches nothing.
// Builds may set it (CGO_CFLAGS=-DST_GEMV_PREFETCH=N) to measure another
// distance.
#ifndef ST_GEMV_PREFETCH
#define ST_GEMV_PREFETCH 1024
#endif

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

// st_gemv: y[r] = beta*y[r] + sum_j w[r*cols+j]*x[j] in 16-lane sums:
// four accumulators take the 16-column blocks of each 64 in turn
// (accumulator k, lane l: columns 64i + 16k + l), accumulator 0 also the
// whole 16-column blocks after the last 64, then (a0 + a1) + (a2 + a3)
// lane by lane, the lanes by halves (HSUM16), the tail columns' sum (in
// order) and beta*y (gemvGo's order; products may be fused). One row at a
// time — one sequential stream, which the hardware prefetcher follows
// best from memory (four rows interleaved read 9–13 GB/s instead of 17–19
// on the EPYC) — with four independent chains of fused multiply-adds, so
// that a row in the caches does not wait on the adder's latency, and
// prefetching ahead (BenchmarkGemv).
ST_CLONES
void st_gemv(const float *restrict w, const float *restrict x, float *restrict y, long rows, long cols, float beta) {
	long whole = cols / 16 * 16, quad = cols / 64 * 64;
	for (long r = 0; r < rows; r++) {
		const float *wr = w + r * cols;
		v16f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
		long j = 0;
		for (; j < quad; j += 64) {
#if ST_GEMV_PREFETCH > 0
			__builtin_prefetch(wr + j + ST_GEMV_PREFETCH);
			__builtin_prefetch(wr + j + ST_GEMV_PREFETCH + 16);
			__builtin_prefetch(wr + j + ST_GEMV_PREFETCH + 32);
			__builtin_prefetch(wr + j + ST_GEMV_PREFETCH + 48);
#endif
			v16f f0, f1, f2, f3, x0, x1, x2, x3;
			memcpy(&f0, wr + j, sizeof f0);
			memcpy(&f1, wr + j + 16, sizeof f1);
			memcpy(&f2, wr + j + 32, sizeof f2);
			memcpy(&f3, wr + j + 48, sizeof f3);
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
			memcpy(&f, wr + j, sizeof f);
			memcpy(&xv, x + j, sizeof xv);
			a0 += f * xv;
		}
		v16f a = (a0 + a1) + (a2 + a3);
		float s, t = 0;
		HSUM16(s, a);
		for (j = whole; j < cols; j++) t += wr[j] * x[j];
		y[r] = beta != 0 ? (s + t) + beta * y[r] : s + t;
	}
}
