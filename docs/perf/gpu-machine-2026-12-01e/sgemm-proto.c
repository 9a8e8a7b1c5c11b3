// prototype packed sgemm, row-major, AVX-512
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cblas.h>
#ifndef MR
#define MR 12
#endif
#define NR 32
#ifndef KC
#define KC 256
#endif
#ifndef MC
#define MC 96
#endif
#ifndef NC
#define NC 1024
#endif

// packA: rows m0..m0+mc, k0..k0+kc of op(A) -> panels of MR rows, k-major: pa[p][k][r]
static void packA(int ta, const float *a, long lda, long m0, long mc, long k0, long kc, float *pa) {
	for (long i = 0; i < mc; i += MR) {
		long rows = mc - i < MR ? mc - i : MR;
		float *d = pa + i * kc;
		if (!ta) {
			for (long r = 0; r < rows; r++) {
				const float *s = a + (m0 + i + r) * lda + k0;
				for (long k = 0; k < kc; k++) d[k * MR + r] = s[k];
			}
			for (long r = rows; r < MR; r++) for (long k = 0; k < kc; k++) d[k * MR + r] = 0;
		} else { // op(A)[m][k] = a[k*lda + m]
			for (long k = 0; k < kc; k++) {
				const float *s = a + (k0 + k) * lda + m0 + i;
				long r = 0;
				for (; r < rows; r++) d[k * MR + r] = s[r];
				for (; r < MR; r++) d[k * MR + r] = 0;
			}
		}
	}
}
// packB: op(B)[k][n] cols n0..n0+nc -> panels of NR cols, k-major: pb[p][k][c]
static void packB(int tb, const float *b, long ldb, long n0, long nc, long k0, long kc, float *pb) {
	for (long j = 0; j < nc; j += NR) {
		long cols = nc - j < NR ? nc - j : NR;
		float *d = pb + j * kc;
		if (!tb) {
			for (long k = 0; k < kc; k++) {
				const float *s = b + (k0 + k) * ldb + n0 + j;
				long c = 0;
				for (; c < cols; c++) d[k * NR + c] = s[c];
				for (; c < NR; c++) d[k * NR + c] = 0;
			}
		} else { // op(B)[k][n] = b[n*ldb + k]
			for (long c = 0; c < cols; c++) {
				const float *s = b + (n0 + j + c) * ldb + k0;
				for (long k = 0; k < kc; k++) d[k * NR + c] = s[k];
			}
			for (long c = cols; c < NR; c++) for (long k = 0; k < kc; k++) d[k * NR + c] = 0;
		}
	}
}

__attribute__((target("avx512f")))
static void micro(long kc, const float *pa, const float *pb, float *c, long ldc, long rows, long cols, float alpha, float beta, int first) {
	__m512 acc[MR][2];
	for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
	for (long k = 0; k < kc; k++) {
		__m512 b0 = _mm512_loadu_ps(pb + k * NR), b1 = _mm512_loadu_ps(pb + k * NR + 16);
		for (int r = 0; r < MR; r++) {
			__m512 av = _mm512_set1_ps(pa[k * MR + r]);
			acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
			acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
		}
	}
	__mmask16 m0 = cols >= 16 ? 0xffff : (__mmask16)((1u << cols) - 1);
	__mmask16 m1 = cols >= 32 ? 0xffff : cols <= 16 ? 0 : (__mmask16)((1u << (cols - 16)) - 1);
	__m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
	for (int r = 0; r < rows; r++) {
		float *cr = c + r * ldc;
		__m512 x0 = _mm512_mul_ps(va, acc[r][0]), x1 = _mm512_mul_ps(va, acc[r][1]);
		if (!first) {
			x0 = _mm512_add_ps(x0, _mm512_maskz_loadu_ps(m0, cr));
			x1 = _mm512_add_ps(x1, _mm512_maskz_loadu_ps(m1, cr + 16));
		} else if (beta != 0) {
			x0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, cr), x0);
			x1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, cr + 16), x1);
		}
		_mm512_mask_storeu_ps(cr, m0, x0);
		_mm512_mask_storeu_ps(cr + 16, m1, x1);
	}
}

static float *PA, *PB;
void st_sgemm(int ta, int tb, long m, long n, long k, float alpha, const float *a, long lda, const float *b, long ldb, float beta, float *c, long ldc) {
	for (long jc = 0; jc < n; jc += NC) {
		long nc = n - jc < NC ? n - jc : NC;
		for (long pc = 0; pc < k; pc += KC) {
			long kc = k - pc < KC ? k - pc : KC;
			packB(tb, b, ldb, jc, nc, pc, kc, PB);
			for (long ic = 0; ic < m; ic += MC) {
				long mc = m - ic < MC ? m - ic : MC;
				packA(ta, a, lda, ic, mc, pc, kc, PA);
				for (long jr = 0; jr < nc; jr += NR)
					for (long ir = 0; ir < mc; ir += MR)
						micro(kc, PA + ir * kc, PB + jr * kc, c + (ic + ir) * ldc + jc + jr, ldc,
						      mc - ir < MR ? mc - ir : MR, nc - jr < NR ? nc - jr : NR, alpha, beta, pc == 0);
			}
		}
	}
}
static double now() { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main() {
	PA = aligned_alloc(64, sizeof(float) * (MC + MR) * KC);
	PB = aligned_alloc(64, sizeof(float) * (NC + NR) * KC);
	struct { const char *name; int ta, tb; long m, n, k; } sh[] = {
		{"fc1_2048x1024x256", 0, 1, 2048, 1024, 256}, {"head_2048x4096x256", 0, 1, 2048, 4096, 256},
		{"dW_1024x256x2048", 1, 0, 1024, 256, 2048}, {"fc1row_256x1024x256", 0, 1, 256, 1024, 256},
		{"sq_1024x1024x1024", 0, 0, 1024, 1024, 1024}, {"dX_2048x256x1024", 0, 0, 2048, 256, 1024},
		{"odd_333x77x100", 1, 1, 333, 77, 100}};
	for (int s = 0; s < 7; s++) {
		long m = sh[s].m, n = sh[s].n, k = sh[s].k;
		float *a = malloc(4 * m * k), *b = malloc(4 * k * n), *c1 = malloc(4 * m * n), *c2 = malloc(4 * m * n);
		for (long i = 0; i < m * k; i++) a[i] = (float)((i * 7919) % 13) * 0.1f - 0.6f;
		for (long i = 0; i < k * n; i++) b[i] = (float)((i * 104729) % 11) * 0.1f - 0.5f;
		for (long i = 0; i < m * n; i++) c1[i] = c2[i] = 0.5f;
		long lda = sh[s].ta ? m : k, ldb = sh[s].tb ? k : n;
		cblas_sgemm(CblasRowMajor, sh[s].ta ? CblasTrans : CblasNoTrans, sh[s].tb ? CblasTrans : CblasNoTrans, m, n, k, 0.7f, a, lda, b, ldb, 0.3f, c1, n);
		st_sgemm(sh[s].ta, sh[s].tb, m, n, k, 0.7f, a, lda, b, ldb, 0.3f, c2, n);
		double maxd = 0;
		for (long i = 0; i < m * n; i++) { double d = c1[i] - c2[i]; if (d < 0) d = -d; if (d > maxd) maxd = d; }
		double fl = 2.0 * m * n * k, best[2] = {0, 0};
		for (int rep = 0; rep < 3; rep++) for (int w = 0; w < 2; w++) {
			int it = 0; double t0 = now(), t;
			do {
				if (w == 0) cblas_sgemm(CblasRowMajor, sh[s].ta ? CblasTrans : CblasNoTrans, sh[s].tb ? CblasTrans : CblasNoTrans, m, n, k, 1, a, lda, b, ldb, 0, c1, n);
				else st_sgemm(sh[s].ta, sh[s].tb, m, n, k, 1, a, lda, b, ldb, 0, c2, n);
				it++; t = now() - t0;
			} while (t < 0.3);
			double gf = fl * it / t / 1e9; if (gf > best[w]) best[w] = gf;
		}
		printf("%-22s openblas %6.1f  st %6.1f GF/s  ratio %.2f  maxdiff %.2g\n", sh[s].name, best[0], best[1], best[1] / best[0], maxd);
		free(a); free(b); free(c1); free(c2);
	}
}
