//go:build cgo && !purego

#include "kernels.h"

// v16f is 16 float32 lanes (gcc vector extensions).
typedef float v16f __attribute__((vector_size(64)));
typedef float v8f __attribute__((vector_size(32)));
typedef float v4f __attribute__((vector_size(16)));

// HSUM16 as in gemv.c: lane l + lane l+8, then l + l+4, (0 + 2) + (1 + 3).
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

// st_attn_scores: s[h*lds + j] = scale * (q_h . k_j) for the r query heads
// q [r, hd] that share the keys k [n, hd]: each key row is read once for
// all r heads (from memory), each dot in st_gemv's order (four 16-lane
// accumulators over the 64-column blocks, the first also the whole
// 16-column blocks after them, (a0 + a1) + (a2 + a3), HSUM16, the tail in
// order), then scaled.
ST_CLONES
void st_attn_scores(const float *restrict q, long r, long hd, const float *restrict k, long n, float scale,
                    float *restrict s, long lds) {
	long whole = hd / 16 * 16, quad = hd / 64 * 64;
	for (long j = 0; j < n; j++) {
		const float *kr = k + j * hd;
		for (long h = 0; h < r; h++) {
			const float *qh = q + h * hd;
			v16f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
			long d = 0;
			for (; d < quad; d += 64) {
				v16f k0, k1, k2, k3, q0, q1, q2, q3;
				memcpy(&k0, kr + d, 64);
				memcpy(&k1, kr + d + 16, 64);
				memcpy(&k2, kr + d + 32, 64);
				memcpy(&k3, kr + d + 48, 64);
				memcpy(&q0, qh + d, 64);
				memcpy(&q1, qh + d + 16, 64);
				memcpy(&q2, qh + d + 32, 64);
				memcpy(&q3, qh + d + 48, 64);
				a0 += k0 * q0;
				a1 += k1 * q1;
				a2 += k2 * q2;
				a3 += k3 * q3;
			}
			for (; d < whole; d += 16) {
				v16f kv, qv;
				memcpy(&kv, kr + d, 64);
				memcpy(&qv, qh + d, 64);
				a0 += kv * qv;
			}
			v16f a = (a0 + a1) + (a2 + a3);
			float dot, t = 0;
			HSUM16(dot, a);
			for (d = whole; d < hd; d++) t += kr[d] * qh[d];
			s[h * lds + j] = scale * (dot + t);
		}
	}
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
