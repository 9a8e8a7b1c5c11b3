//go:build cgo && !purego

#include "kernels.h"

// st_exp_row returns max(z) and Σ e^{z−max}; stores e^{z−max} in e unless e is NULL.
ST_CLONES
st_row st_exp_row(const float *z, float *e, long n) {
	float lane[16];
	for (int l = 0; l < 16; l++) lane[l] = z[0];
	long j = 0;
	for (; j + 16 <= n; j += 16)
		for (int l = 0; l < 16; l++) lane[l] = z[j + l] > lane[l] ? z[j + l] : lane[l];
	float m = z[0];
	for (int l = 0; l < 16; l++) m = lane[l] > m ? lane[l] : m;
	for (; j < n; j++) m = z[j] > m ? z[j] : m;
	float acc[16] = {0};
	double sum = 0;
	j = 0;
	if (e) {
		for (; j + 16 <= n; j += 16)
			for (int l = 0; l < 16; l++) {
				float v = st_exp(z[j + l] - m);
				e[j + l] = v;
				acc[l] += v;
			}
		for (; j < n; j++) {
			e[j] = st_exp(z[j] - m);
			sum += e[j];
		}
	} else {
		for (; j + 16 <= n; j += 16)
			for (int l = 0; l < 16; l++) acc[l] += st_exp(z[j + l] - m);
		for (; j < n; j++) sum += st_exp(z[j] - m);
	}
	for (int l = 0; l < 16; l++) sum += acc[l];
	st_row res = {sum, m};
	return res;
}
