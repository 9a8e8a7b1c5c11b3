package gemm

import "testing"

// BenchmarkSgemm: GF/s of the engine's product shapes (one thread): a
// chunk of 512 rows through a d=256 and a d=768 projection, and the
// attention blocks of 64 queries against 1,088 keys (scores, then values).
func BenchmarkSgemm(b *testing.B) {
	for _, s := range []struct {
		name    string
		tb      bool
		m, n, k int
	}{
		{"x·Wᵀ 512x768x256", true, 512, 768, 256}, {"x·Wᵀ 512x3072x768", true, 512, 3072, 768},
		{"q·Kᵀ 64x1088x64", true, 64, 1088, 64}, {"P·V 64x64x1088", false, 64, 64, 1088},
	} {
		b.Run(s.name, func(b *testing.B) {
			a, w, c := make([]float32, s.m*s.k), make([]float32, s.n*s.k), make([]float32, s.m*s.n)
			for i := range a {
				a[i] = float32(i%7) / 7
			}
			for i := range w {
				w[i] = float32(i%5) / 5
			}
			ldb := s.k
			if !s.tb {
				ldb = s.n
			}
			for b.Loop() {
				Sgemm(false, s.tb, s.m, s.n, s.k, 1, a, s.k, w, ldb, 0, c, s.n)
			}
			b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GF/s")
		})
	}
}
