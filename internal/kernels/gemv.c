//go:build cgo && !purego

#include "kernels.h"

// ST_GEMV_PREFETCH is how far ahead of its loads st_gemv prefetches a row
// (float32 values: 4 KiB; on the 2-core EPYC from memory 19.7–22.8 GB/s
// against 16.0–21.8 at 1 KiB and 12–19 without); 0 prefetches nothing.
// Builds may set it (CGO_CFLAGS=-DST_GEMV_PREFETCH=N) to measure another
// distance.
#ifndef ST_GEMV_PREFETCH
#define ST_GEMV_PREFETCH 1024
#endif

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
	for (long r = 0; r < rows; r++) {
		float s = st_dot(w + r * cols, x, cols, ST_GEMV_PREFETCH);
		y[r] = beta != 0 ? s + beta * y[r] : s;
	}
}
