//go:build cgo && !purego

#include "kernels.h"

// v16f is 16 float32 lanes (gcc vector extensions: one zmm for the AVX-512
// clone, two ymm for AVX2).
typedef float v16f __attribute__((vector_size(64)));

// st_gemv_prefetch is how far ahead of its loads st_gemv prefetches a row
// (float32 values: 1 KiB).
#define ST_GEMV_PREFETCH 256

// st_gemv: y[r] = beta*y[r] + sum_j w[r*cols+j]*x[j] with 16-lane sums:
// lane l sums the columns j ≡ l (mod 16) of the whole blocks in order,
// then the tail columns and the lanes are added in order (gemvGo's order;
// products may be fused). One row at a time, prefetching ahead: a decoding
// step streams weight matrices that are in the L3 cache or in memory, where
// this runs 1.3–1.9× OpenBLAS's sgemv on the 2-core EPYC
// (BenchmarkGemv).
ST_CLONES
void st_gemv(const float *restrict w, const float *restrict x, float *restrict y, long rows, long cols, float beta) {
	long whole = cols / 16 * 16;
	for (long r = 0; r < rows; r++) {
		const float *wr = w + r * cols;
		v16f acc = {0};
		for (long j = 0; j < whole; j += 16) {
			__builtin_prefetch(wr + j + ST_GEMV_PREFETCH);
			v16f f, xv;
			memcpy(&f, wr + j, sizeof f);
			memcpy(&xv, x + j, sizeof xv);
			acc += f * xv;
		}
		float s = 0;
		for (long j = whole; j < cols; j++) s += wr[j] * x[j];
		for (int l = 0; l < 16; l++) s += acc[l];
		if (beta != 0) s += beta * y[r];
		y[r] = s;
	}
}
