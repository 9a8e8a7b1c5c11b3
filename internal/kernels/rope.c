//go:build cgo && !purego

#include "kernels.h"

// st_rope: RoPE (rope.go) between qkv [B*T, W] (head j of a row at column
// cols[j], S heads of hd) and heads [B, S, T, hd]; heads j < nrot rotate
// their first 2*half dims with cos, sin [T, half]. back = 0: qkv -> heads,
// x'_i = x_i c - x_{i+h} s, x'_{i+h} = x_{i+h} c + x_i s; back = 1:
// heads -> qkv with the transposed rotation.
ST_CLONES
void st_rope(float *qkv, float *heads, const float *cos, const float *sin, long B, long T, long hd, long W,
             const int64_t *cols, long S, long nrot, long half, int back) {
	for (long b = 0; b < B; b++) {
		for (long t = 0; t < T; t++) {
			float *row = qkv + (b * T + t) * W;
			const float *cs = cos + t * half, *sn = sin + t * half;
			for (long j = 0; j < S; j++) {
				float *x = row + cols[j];
				float *y = heads + ((b * S + j) * T + t) * hd;
				float *restrict to = back ? x : y;
				const float *restrict from = back ? y : x;
				if (j >= nrot) {
					memcpy(to, from, hd * sizeof(float));
					continue;
				}
				if (hd > 2 * half) memcpy(to + 2 * half, from + 2 * half, (hd - 2 * half) * sizeof(float));
				const float *lo = from, *hi = from + half;
				float *olo = to, *ohi = to + half;
				if (back) {
					for (long i = 0; i < half; i++) {
						olo[i] = lo[i] * cs[i] + hi[i] * sn[i];
						ohi[i] = hi[i] * cs[i] - lo[i] * sn[i];
					}
				} else {
					for (long i = 0; i < half; i++) {
						olo[i] = lo[i] * cs[i] - hi[i] * sn[i];
						ohi[i] = hi[i] * cs[i] + lo[i] * sn[i];
					}
				}
			}
		}
	}
}
