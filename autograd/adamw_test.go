package autograd

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAdamW32 checks the kernel against the pure-Go update and against the
// formula in float64 over several steps, including a non-finite weight.
func TestAdamW32(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 16, 37, 1000} {
		w, g, m, v := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range w {
			w[i] = float32(r.NormFloat64())
		}
		wGo, mGo, vGo := append([]float32(nil), w...), make([]float32, n), make([]float32, n)
		w64, m64, v64 := make([]float64, n), make([]float64, n), make([]float64, n)
		for i := range w {
			w64[i] = float64(w[i])
		}
		const lr, wd, b1, b2, eps = 1e-2, 0.1, 0.9, 0.95, 1e-8
		for step := 1; step <= 5; step++ {
			for i := range g {
				g[i] = float32(r.NormFloat64() * 0.1)
			}
			bc1, bc2 := 1-math.Pow(b1, float64(step)), 1-math.Pow(b2, float64(step))
			c := AdamWCoeffs{Scale: 0.5, Beta1: b1, Beta2: b2, Shrink: float32(1 - lr*wd),
				StepSize: float32(lr / bc1), InvSqrtBC2: float32(1 / math.Sqrt(bc2)), Eps: eps}
			ok, err := AdamW32(w, g, m, v, c)
			if err != nil || !ok {
				t.Fatalf("n=%d step %d: AdamW32 = %v, %v", n, step, ok, err)
			}
			adamW32Go(wGo, g, mGo, vGo, c)
			for i := range g {
				gi := 0.5 * float64(g[i])
				m64[i] = b1*m64[i] + (1-b1)*gi
				v64[i] = b2*v64[i] + (1-b2)*gi*gi
				w64[i] = w64[i]*(1-lr*wd) - lr*(m64[i]/bc1)/(math.Sqrt(v64[i]/bc2)+eps)
			}
			for i := range w {
				if d := math.Abs(float64(w[i] - wGo[i])); d > 1e-6*(1+math.Abs(float64(wGo[i]))) {
					t.Fatalf("n=%d step %d: w[%d] = %v, Go %v", n, step, i, w[i], wGo[i])
				}
				if d := math.Abs(float64(w[i]) - w64[i]); d > 1e-5*(1+math.Abs(w64[i])) {
					t.Fatalf("n=%d step %d: w[%d] = %v, float64 formula %v", n, step, i, w[i], w64[i])
				}
			}
		}
		w[n-1] = float32(math.Inf(1))
		if ok, _ := AdamW32(w, g, m, v, AdamWCoeffs{Scale: 1, Beta1: 0.9, Beta2: 0.95, Shrink: 1, StepSize: 1e-3, InvSqrtBC2: 1, Eps: 1e-8}); ok {
			t.Fatalf("n=%d: an infinite weight was reported finite", n)
		}
	}
	if _, err := AdamW32(make([]float32, 3), make([]float32, 2), make([]float32, 3), make([]float32, 3), AdamWCoeffs{}); err == nil {
		t.Fatal("mismatched lengths were accepted")
	}
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
	}{{"kernel", adamW32}, {"go", adamW32Go}} {
		b.Run(k.name, func(b *testing.B) {
			for range b.N {
				k.f(w, g, m, v, c)
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/step")
		})
	}
}
