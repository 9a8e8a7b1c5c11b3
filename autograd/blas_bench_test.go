package autograd

import (
	"fmt"
	"runtime"
	"testing"
)

// BenchmarkSgemm measures single-precision gemm GF/s with 1, 2 and
// GOMAXPROCS OpenBLAS threads on the reference config's shapes (N = B·T =
// 2048 rows): the FC1 forward (x·Wᵀ), the head's forward (V = 4096), a
// weight gradient (dyᵀ·x), the FC1 forward of one 256-token row (what one
// worker of batch 8 on 8 cores multiplies) and a square case. The GF/s it
// reports is the denominator of the training MFU. scripts/bench/torch2.py
// times the same shapes with PyTorch.
func BenchmarkSgemm(b *testing.B) {
	shapes := []struct {
		name    string
		tA, tB  bool
		m, n, k int
	}{
		{"fc1_2048x1024x256", false, true, 2048, 1024, 256},
		{"head_2048x4096x256", false, true, 2048, 4096, 256},
		{"dW_1024x256x2048", true, false, 1024, 256, 2048},
		{"fc1row_256x1024x256", false, true, 256, 1024, 256},
		{"sq_1024x1024x1024", false, false, 1024, 1024, 1024},
	}
	threadCounts := []int{1, 2}
	if n := runtime.GOMAXPROCS(0); n > 2 {
		threadCounts = append(threadCounts, n)
	}
	for _, threads := range threadCounts {
		for _, s := range shapes {
			b.Run(fmt.Sprintf("threads=%d/%s", threads, s.name), func(b *testing.B) {
				SetBLASThreads(threads)
				defer SetBLASThreads(1)
				a := make([]float32, s.m*s.k)
				bb := make([]float32, s.k*s.n)
				c := make([]float32, s.m*s.n)
				for i := range a {
					a[i] = float32(i%7) * 0.1
				}
				for i := range bb {
					bb[i] = float32(i%5) * 0.1
				}
				lda, ldb := s.k, s.n
				if s.tA {
					lda = s.m
				}
				if s.tB {
					ldb = s.k
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					gemm(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
				}
				b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GF/s")
			})
		}
	}
}
