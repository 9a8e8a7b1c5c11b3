package kernels

import (
	"math"
	"math/rand/v2"
)

// randSlice returns n values offset + scale·N(0,1), deterministic in seed.
func randSlice(seed uint64, n int, offset, scale float64) []float64 {
	r := rand.New(rand.NewPCG(seed, 3))
	v := make([]float64, n)
	for i := range v {
		v[i] = offset + scale*r.NormFloat64()
	}
	return v
}

func to32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// maxRelErr returns max_i |got_i − want_i| / max(|want|_∞, tiny): the error
// relative to the tensor's scale.
func maxRelErr[T float32 | float64](got []T, want []float64) float64 {
	var scale, worst float64
	for _, w := range want {
		scale = math.Max(scale, math.Abs(w))
	}
	for i, w := range want {
		worst = math.Max(worst, math.Abs(float64(got[i])-w))
	}
	return worst / math.Max(scale, 1e-300)
}

// fdGrad returns the gradient of L(x) = Σ dy⊙f(x) by central differences.
func fdGrad(x, dy []float64, f func(x []float64) []float64) []float64 {
	const eps = 1e-6
	g := make([]float64, len(x))
	for k := range x {
		orig := x[k]
		x[k] = orig + eps
		yp := f(x)
		x[k] = orig - eps
		ym := f(x)
		x[k] = orig
		for j := range dy {
			g[k] += dy[j] * (yp[j] - ym[j]) / (2 * eps)
		}
	}
	return g
}
