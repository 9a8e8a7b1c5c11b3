package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGemv: the kernel in use and the pure-Go one against float64 sums
// (rows of 1, 15, 16, 17, 100 and 300 columns, beta 0 and 1).
func TestGemv(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, cols := range []int{1, 15, 16, 17, 100, 300} {
		const rows = 9
		w := make([]float32, rows*cols)
		for i := range w {
			w[i] = float32(rng.NormFloat64())
		}
		x := make([]float32, cols)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		for _, beta := range []float32{0, 1} {
			for name, f := range map[string]func([]float32, []float32, []float32, int, int, float32){"Gemv": Gemv, "gemvGo": gemvGo} {
				y := make([]float32, rows)
				for r := range y {
					y[r] = 0.5
				}
				f(w, x, y, rows, cols, beta)
				for r := range rows {
					want := float64(beta) * 0.5
					norm := 0.0
					for j := range cols {
						p := float64(w[r*cols+j]) * float64(x[j])
						want += p
						norm += math.Abs(p)
					}
					if d := math.Abs(float64(y[r]) - want); d > 1e-6*(norm+1) {
						t.Errorf("%s cols %d beta %g row %d: %g, want %g (|error| %.2g)", name, cols, beta, r, y[r], want, d)
					}
				}
			}
		}
	}
}
