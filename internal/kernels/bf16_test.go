package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGemvBF16: the kernel in use and the pure-Go one against float64 sums
// of the widened weights (rows of 1, 15, 16, 17 and 100 columns, beta 0 and
// 1), and WidenBF16 is exact.
func TestGemvBF16(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, cols := range []int{1, 15, 16, 17, 100} {
		const rows = 7
		w := make([]BF16, rows*cols)
		for i := range w {
			w[i] = BF16(math.Float32bits(float32(rng.NormFloat64())) >> 16)
		}
		x := make([]float32, cols)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		wide := make([]float32, len(w))
		WidenBF16(w, wide)
		for i, h := range w {
			if math.Float32bits(wide[i]) != uint32(h)<<16 {
				t.Fatalf("WidenBF16[%d] = %g, want bits %#x", i, wide[i], uint32(h)<<16)
			}
		}
		for _, beta := range []float32{0, 1} {
			want := make([]float64, rows)
			for r := range rows {
				s := 0.0
				for j := range cols {
					s += float64(wide[r*cols+j]) * float64(x[j])
				}
				want[r] = s + float64(beta)*0.5
			}
			for _, f := range []func([]BF16, []float32, []float32, int, int, float32){GemvBF16, gemvBF16Go} {
				y := make([]float32, rows)
				for r := range y {
					y[r] = 0.5
				}
				f(w, x, y, rows, cols, beta)
				for r, v := range want {
					if math.Abs(float64(y[r])-v) > 1e-5*(1+math.Abs(v))*math.Sqrt(float64(cols)) {
						t.Fatalf("cols %d beta %g: y[%d] = %g, want %g", cols, beta, r, y[r], v)
					}
				}
			}
		}
	}
}
