//go:build cgo && !purego

#include "kernels.h"

static inline float st_bf16(uint16_t h) {
	uint32_t b = (uint32_t)h << 16;
	float f;
	memcpy(&f, &b, 4);
	return f;
}

// st_widen_bf16: dst[i] = float32 of the bfloat16 src[i].
ST_CLONES
void st_widen_bf16(const uint16_t *restrict src, float *restrict dst, long n) {
	for (long i = 0; i < n; i++) dst[i] = st_bf16(src[i]);
}

// st_gemv_bf16: y[r] = beta*y[r] + sum_j bf16(w[r*cols+j])*x[j], 16-lane
// float32 sums (the same order as gemvBF16Go).
ST_CLONES
void st_gemv_bf16(const uint16_t *restrict w, const float *restrict x, float *restrict y, long rows, long cols,
                  float beta) {
	for (long r = 0; r < rows; r++) {
		const uint16_t *wr = w + r * cols;
		float acc[16] = {0};
		long j = 0;
		for (; j + 16 <= cols; j += 16)
			for (int l = 0; l < 16; l++) acc[l] += st_bf16(wr[j + l]) * x[j + l];
		float s = 0;
		for (; j < cols; j++) s += st_bf16(wr[j]) * x[j];
		for (int l = 0; l < 16; l++) s += acc[l];
		if (beta != 0) s += beta * y[r];
		y[r] = s;
	}
}
