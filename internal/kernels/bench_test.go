package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func BenchmarkExp32(b *testing.B) {
	x, y := make([]float32, 4096), make([]float32, 4096)
	for i := range x {
		x[i] = float32(i%200)*0.1 - 10
	}
	b.Run("exp32", func(b *testing.B) {
		for range b.N {
			for j, v := range x {
				y[j] = Exp(v)
			}
		}
	})
	b.Run("math.Exp", func(b *testing.B) {
		for range b.N {
			for j, v := range x {
				y[j] = float32(math.Exp(float64(v)))
			}
		}
	})
}

// BenchmarkGELU compares the float32 GELU forward (one exponential per
// value) with the float64 Hermite-table kernel on the reference MLP size
// (2048×1024).
func BenchmarkGELU(b *testing.B) {
	const n = 2048 * 1024
	x, y := make([]float32, n), make([]float32, n)
	for i := range x {
		x[i] = float32(i%4000)*0.002 - 4
	}
	x64, y64 := to64(x), make([]float64, n)
	b.Run("normal32", func(b *testing.B) {
		b.SetBytes(4 * n)
		for range b.N {
			GELU(x, y, nil)
		}
	})
	b.Run("table64", func(b *testing.B) {
		b.SetBytes(4 * n)
		for range b.N {
			GELU(x64, y64, nil)
		}
	})
}

// BenchmarkAdamW32 compares the kernel with the pure-Go loop on the
// reference config's 5,256,704 parameters (one thread).
func BenchmarkAdamW32(b *testing.B) {
	const n = 5256704
	w, g, m, v := Alloc32(n), Alloc32(n), Alloc32(n), Alloc32(n)
	for i := range g {
		g[i] = float32(i%13) * 1e-3
	}
	c := AdamWCoeffs{Scale: 1, Beta1: 0.9, Beta2: 0.95, Shrink: 0.9999, StepSize: 1e-3, InvSqrtBC2: 1, Eps: 1e-8}
	for _, k := range []struct {
		name string
		f    func(w, g, m, v []float32, c AdamWCoeffs) bool
	}{{"kernel", adamW32}, {"go", adamWGo}} {
		b.Run(k.name, func(b *testing.B) {
			for range b.N {
				k.f(w, g, m, v, c)
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/step")
		})
	}
}

// BenchmarkGemvPanels: GB/s of bfloat16 weights read by the decoding
// step's matrix-vector product (one goroutine) on the shapes of
// SmolLM-135M's MLP (1536×576) and Pythia-160M's (3072×768): one matrix,
// read again and again from the caches, and 64 of them in turn (beyond the
// L3 cache, as a decoding step reads a model's layers); "dot" is the
// kernel in use (AVX512-BF16 where the CPU has it), "widen" the widening
// one.
func BenchmarkGemvPanels(b *testing.B) {
	for _, s := range []struct{ rows, cols int }{{1536, 576}, {3072, 768}} {
		for _, n := range []int{1, 64} {
			for _, kind := range []string{"dot", "widen"} {
				b.Run(fmt.Sprintf("%dx%d/%d/%s", s.rows, s.cols, n, kind), func(b *testing.B) {
					m := make([]float32, s.rows*s.cols)
					for i := range m {
						m[i] = float32(i%64) / 64
					}
					p := PackPanels(m, s.rows, s.cols)
					size := len(p.Data)
					w := make([]BF16, n*size)
					for i := range n {
						copy(w[i*size:], p.Data)
					}
					x, y := make([]BF16, s.cols), make([]float32, s.rows)
					for i := range x {
						x[i] = BF16(0x3f80 + i%7)
					}
					i := 0
					for b.Loop() {
						gemvPanels32(w[i%n*size:(i%n+1)*size], x, nil, y, s.rows, s.cols/2, 0, kind == "widen")
						i++
					}
					b.ReportMetric(2*float64(s.rows*s.cols)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
				})
			}
		}
	}
}

// BenchmarkAttnScores: one decoding step's attention scores for one kv
// head of SmolLM-135M (3 query heads of 64 dims over 1,024 cached keys,
// 256 KiB: from the L2 cache, as in a step that goes through the layer's
// heads), GB/s of keys read.
func BenchmarkAttnScores(b *testing.B) {
	const r, hd, n = 3, 64, 1024
	rng := rand.New(rand.NewPCG(1, 2))
	q, k := normals(rng, r*hd), normals(rng, n*hd)
	s := make([]float32, r*n)
	for b.Loop() {
		AttnScores(q, r, hd, k, n, 0.125, s, n)
	}
	b.ReportMetric(float64(4*n*hd)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
}
