package autograd

import (
	"math"
	"testing"
)

func TestExp32(t *testing.T) {
	worst := 0.0
	for x := -87.0; x <= 88; x += 0.000731 {
		got, want := float64(exp32(float32(x))), math.Exp(float64(float32(x)))
		if r := math.Abs(got-want) / want; r > worst {
			worst = r
		}
	}
	if worst > 1e-6 {
		t.Fatalf("exp32 max relative error %.3g, expected ≤ 1e-6", worst)
	}
	if exp32(-200) != 0 || !math.IsInf(float64(exp32(200)), 1) || !math.IsNaN(float64(exp32(float32(math.NaN())))) {
		t.Fatal("exp32 limits wrong")
	}
}

func TestNormal32(t *testing.T) {
	var worstC, worstP float64
	for x := -10.0; x <= 10; x += 0.000917 {
		c, p := normal32(float32(x))
		wc := 0.5 * math.Erfc(-x/math.Sqrt2)
		wp := math.Exp(-x*x/2) / math.Sqrt(2*math.Pi)
		worstC = math.Max(worstC, math.Abs(float64(c)-wc))
		worstP = math.Max(worstP, math.Abs(float64(p)-wp))
	}
	if worstC > 2e-6 || worstP > 2e-6 {
		t.Fatalf("normal32 max abs error cdf %.3g pdf %.3g, expected ≤ 2e-6", worstC, worstP)
	}
}

func BenchmarkExp32(b *testing.B) {
	x, y := make([]float32, 4096), make([]float32, 4096)
	for i := range x {
		x[i] = float32(i%200)*0.1 - 10
	}
	b.Run("exp32", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for j, v := range x {
				y[j] = exp32(v)
			}
		}
	})
	b.Run("math.Exp", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for j, v := range x {
				y[j] = float32(math.Exp(float64(v)))
			}
		}
	})
}
