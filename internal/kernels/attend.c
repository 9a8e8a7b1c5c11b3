//go:build cgo && !purego

#include "kernels.h"

// st_attn_scores: s[h*lds + j] = scale * (q_h . k_j) for the r query heads
// q [r, hd] that share the keys k [n, hd]: each key row is read once for
// all r heads (from memory), each dot in st_gemv's order (st_dot), then
// scaled. With whole 16-column blocks (hd a multiple of 16) the keys go
// sixteen at a time, their lanes summed together (st_hsum16x16: the same
// sums as st_dot's, in a third of the vector operations); the rest one by
// one.
ST_CLONES
void st_attn_scores(const float *restrict q, long r, long hd, const float *restrict k, long n, float scale,
                    float *restrict s, long lds) {
	long j = 0;
	if (hd % 16 == 0) {
		for (; j + 16 <= n; j += 16)
			for (long h = 0; h < r; h++) {
				v16f lanes[16];
				for (int t = 0; t < 16; t++) st_dot_lanes(k + (j + t) * hd, q + h * hd, hd, 0, &lanes[t]);
				float *o = s + h * lds + j;
				st_hsum16x16(lanes, o);
				for (int t = 0; t < 16; t++) o[t] = scale * (o[t] + 0.0f); // + st_dot's empty tail sum (−0 → +0)
			}
	}
	for (; j < n; j++)
		for (long h = 0; h < r; h++) s[h * lds + j] = scale * st_dot(k + j * hd, q + h * hd, hd, 0);
}

// st_attn_values: out[h*ldo + d] += sum_j p[h*ldp + j] * v[j*hd + d] for the
// r query heads whose weights p [r, n] share the values v [n, hd]: columns
// in blocks of 64 (then 16, then one), heads four at a time, so that each
// value row is read once for up to four heads; per output, j in order
// (products may be fused).
ST_CLONES
void st_attn_values(const float *restrict p, long ldp, long r, const float *restrict v, long n, long hd,
                    float *restrict out, long ldo) {
	long whole = hd / 16 * 16;
	for (long h0 = 0; h0 < r; h0 += 4) {
		long nh = r - h0 < 4 ? r - h0 : 4;
		long d = 0;
		for (; d + 64 <= hd; d += 64) {
			v16f acc[4][4];
			for (long h = 0; h < nh; h++)
				for (int c = 0; c < 4; c++) memcpy(&acc[h][c], out + (h0 + h) * ldo + d + 16 * c, 64);
			for (long j = 0; j < n; j++) {
				const float *vr = v + j * hd + d;
				v16f v0, v1, v2, v3;
				memcpy(&v0, vr, 64);
				memcpy(&v1, vr + 16, 64);
				memcpy(&v2, vr + 32, 64);
				memcpy(&v3, vr + 48, 64);
				for (long h = 0; h < nh; h++) {
					float w = p[(h0 + h) * ldp + j];
					acc[h][0] += w * v0;
					acc[h][1] += w * v1;
					acc[h][2] += w * v2;
					acc[h][3] += w * v3;
				}
			}
			for (long h = 0; h < nh; h++)
				for (int c = 0; c < 4; c++) memcpy(out + (h0 + h) * ldo + d + 16 * c, &acc[h][c], 64);
		}
		for (; d < whole; d += 16) {
			v16f acc[4];
			for (long h = 0; h < nh; h++) memcpy(&acc[h], out + (h0 + h) * ldo + d, 64);
			for (long j = 0; j < n; j++) {
				v16f vv;
				memcpy(&vv, v + j * hd + d, 64);
				for (long h = 0; h < nh; h++) acc[h] += p[(h0 + h) * ldp + j] * vv;
			}
			for (long h = 0; h < nh; h++) memcpy(out + (h0 + h) * ldo + d, &acc[h], 64);
		}
		for (; d < hd; d++)
			for (long h = 0; h < nh; h++) {
				float acc = out[(h0 + h) * ldo + d];
				for (long j = 0; j < n; j++) acc += p[(h0 + h) * ldp + j] * v[j * hd + d];
				out[(h0 + h) * ldo + d] = acc;
			}
	}
}
