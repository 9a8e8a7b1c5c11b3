package autograd

import (
	"math"
	"math/rand/v2"
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

// BenchmarkGELU compares the float32 GELU forward (normal32, one exp32) with
// the float64 Hermite-table kernel on the reference MLP size (2048×1024).
func BenchmarkGELU(b *testing.B) {
	const n = 2048 * 1024
	x, y := make([]float32, n), make([]float32, n)
	for i := range x {
		x[i] = float32(i%4000)*0.002 - 4
	}
	b.Run("normal32", func(b *testing.B) {
		b.SetBytes(4 * n)
		for i := 0; i < b.N; i++ {
			gelu32(x, y, nil)
		}
	})
	b.Run("table64", func(b *testing.B) {
		b.SetBytes(4 * n)
		for i := 0; i < b.N; i++ {
			geluFwd(x, y)
		}
	})
}

// TestKernels32 checks expRow32 and gelu32 (C kernels unless purego) against
// the pure-Go versions and float64 math.
func TestKernels32(t *testing.T) {
	const n = 4099 // not a multiple of 16
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(i%997)*0.019 - 9.5
	}
	e, eGo := make([]float32, n), make([]float32, n)
	m, s := expRow32(x, e)
	mGo, sGo := expRow32Go(x, eGo)
	var want float64
	for _, v := range x {
		want += math.Exp(float64(v) - float64(mGo))
	}
	if m != mGo || math.Abs(s-want)/want > 1e-6 || math.Abs(sGo-want)/want > 1e-6 {
		t.Fatalf("expRow32: max %v sum %v, Go max %v sum %v, want sum %v", m, s, mGo, sGo, want)
	}
	if m2, s2 := expRow32(x, nil); m2 != m || s2 != s {
		t.Fatalf("expRow32 without dst: %v %v, want %v %v", m2, s2, m, s)
	}
	y, d, yGo, dGo := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	gelu32(x, y, d)
	gelu32Go(x, yGo, dGo)
	for i, v := range x {
		wantE := math.Exp(float64(v - m)) // the float32 difference, as the kernel sees it
		if math.Abs(float64(e[i])-wantE) > 1e-6*wantE {
			t.Fatalf("exp[%d] = %v, want %v", i, e[i], wantE)
		}
		if math.Abs(float64(y[i]-yGo[i])) > 1e-6 || math.Abs(float64(d[i]-dGo[i])) > 1e-6 {
			t.Fatalf("gelu32(%v) = %v, %v; Go %v, %v", v, y[i], d[i], yGo[i], dGo[i])
		}
	}
	for _, extra := range []bool{false, true} {
		r, rGo := append([]float32(nil), x[:200]...), append([]float32(nil), x[:200]...)
		// One row of a causal block whose row index 199 sees all 200 scores.
		psink := make([]float32, 1)
		softmaxCausal32(r, len(r), len(r)-1, 1, len(r), 0.5, extra, psink)
		p, pGo := psink[0], softmaxRow32Go(rGo, 0.5, extra)
		if math.Abs(float64(p-pGo)) > 1e-6 {
			t.Fatalf("softmaxCausal32 extra %v: sink probability %v, Go %v", extra, p, pGo)
		}
		for i := range r {
			if math.Abs(float64(r[i]-rGo[i])) > 1e-6 {
				t.Fatalf("softmaxCausal32 extra %v: p[%d] = %v, Go %v", extra, i, r[i], rGo[i])
			}
		}
	}
}

// TestLayerNorm32 checks the float32 LayerNorm kernels (C unless purego)
// against the generic Go ones on rows of 40 (a 16-lane tail of 8).
func TestLayerNorm32(t *testing.T) {
	const N, D = 7, 40
	f := func(seed uint64, off, sc float64, n int) []float32 {
		v := randT(seed, off, sc, n).Data().([]float64)
		out := make([]float32, n)
		for i, x := range v {
			out[i] = float32(x)
		}
		return out
	}
	x, w, b, dy := f(31, 0.5, 2, N*D), f(32, 1, 0.3, D), f(33, 0, 0.3, D), f(34, 0, 1, N*D)
	near := func(what string, got, want []float32) {
		for i := range want {
			if math.Abs(float64(got[i]-want[i])) > 1e-5*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
			}
		}
	}
	y, yGo := make([]float32, N*D), make([]float32, N*D)
	layerNorm32(x, w, b, y, D, 1e-5)
	layerNormFwd(x, w, b, yGo, D, 1e-5)
	near("y", y, yGo)
	for _, wrtW := range []bool{false, true} {
		n := N * D
		if wrtW {
			n = D
		}
		g, gGo := make([]float32, n), make([]float32, n)
		layerNormBwd32(x, w, dy, g, D, 1e-5, wrtW)
		layerNormBwd(x, w, dy, gGo, D, 1e-5, wrtW)
		near("grad", g, gGo)
	}
}

// TestBackwardKernels32 checks the float32 C kernels of the backward passes
// (colSum32, mul32, scale32, attnDS32) against their pure-Go versions on
// random data, including lengths that are not multiples of the 16-float
// lanes.
func TestBackwardKernels32(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	vec := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v
	}
	near := func(what string, got, want []float32, tol float64) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: len %d, expected %d", what, len(got), len(want))
		}
		for i := range got {
			if d := math.Abs(float64(got[i] - want[i])); d > tol*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("%s[%d] = %v, expected %v", what, i, got[i], want[i])
			}
		}
	}
	for _, n := range []int{1, 15, 16, 17, 100, 1031} {
		for _, F := range []int{1, 7, 16, 33} {
			x := vec(n * F)
			got, want := vec(F), vec(F) // stale contents must be overwritten
			colSum32(x, got)
			colSum32Go(x, want)
			near("colSum32", got, want, 1e-4)
		}
		a, b := vec(n), vec(n)
		got, want := make([]float32, n), make([]float32, n)
		mul32(a, b, got)
		mul32Go(a, b, want)
		near("mul32", got, want, 0)
		scale32(a, got, 0.37)
		scale32Go(a, want, 0.37)
		near("scale32", got, want, 0)
		for _, i0 := range []int{0, 3, n} {
			const ld = 1100
			rows := min(n, 40)
			p, d := vec(rows*ld), vec(rows*ld)
			for i := range p {
				p[i] = float32(math.Abs(float64(p[i])))
			}
			want := append([]float32(nil), d...)
			ncols := i0 + rows
			attnDS32(p, d, ld, i0, rows, ncols, 0.125)
			attnDSBlockGo(p, want, ld, i0, rows, ncols, float32(0.125))
			near("attnDS32", d, want, 1e-5)
		}

	}
}
