package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAttnKernels: AttnScores and AttnValues (the C kernels, and the Go
// ones) against float64 sums, for head sizes with and without whole 64-
// and 16-column blocks, 1 to 9 heads per kv head (the values kernel takes
// four at a time), strides wider than the rows, and outputs that already
// hold values; within 1e-6 of the sum of the products' magnitudes.
func TestAttnKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	rnd := func(n int) []float32 { return normals(rng, n) }
	type scoresFn = func([]float32, int, int, []float32, int, float32, []float32, int)
	type valuesFn = func([]float32, int, int, []float32, int, int, []float32, int)
	impls := []struct {
		name   string
		scores scoresFn
		values valuesFn
	}{{"kernels", AttnScores, AttnValues}, {"go", attnScoresGo, attnValuesGo}}
	for _, hd := range []int{3, 16, 17, 64, 80, 128, 200} {
		for _, r := range []int{1, 3, 4, 5, 9} {
			for _, n := range []int{1, 7, 100} {
				q, k, v := rnd(r*hd), rnd(n*hd), rnd(n*hd)
				lds, ldo := n+3, hd+5
				p := rnd(r * lds)
				out0 := rnd(r * ldo)
				const scale = 0.125
				for _, im := range impls {
					s := make([]float32, r*lds)
					im.scores(q, r, hd, k, n, scale, s, lds)
					out := append([]float32(nil), out0...)
					im.values(p, lds, r, v, n, hd, out, ldo)
					for h := range r {
						for j := range n {
							want, norm := 0.0, 0.0
							for d := range hd {
								x := float64(q[h*hd+d]) * float64(k[j*hd+d])
								want, norm = want+x, norm+math.Abs(x)
							}
							if e := math.Abs(float64(s[h*lds+j]) - scale*want); e > 1e-6*scale*(norm+1) {
								t.Fatalf("%s scores hd %d r %d n %d: s[%d][%d] = %g, want %g", im.name, hd, r, n, h, j, s[h*lds+j], scale*want)
							}
						}
						for d := range hd {
							want, norm := float64(out0[h*ldo+d]), math.Abs(float64(out0[h*ldo+d]))
							for j := range n {
								x := float64(p[h*lds+j]) * float64(v[j*hd+d])
								want, norm = want+x, norm+math.Abs(x)
							}
							if e := math.Abs(float64(out[h*ldo+d]) - want); e > 1e-6*(norm+1) {
								t.Fatalf("%s values hd %d r %d n %d: out[%d][%d] = %g, want %g", im.name, hd, r, n, h, d, out[h*ldo+d], want)
							}
						}
						for d := hd; d < ldo && h < r-1; d++ {
							if out[h*ldo+d] != out0[h*ldo+d] {
								t.Fatalf("%s values hd %d r %d n %d: wrote out[%d][%d] outside the heads", im.name, hd, r, n, h, d)
							}
						}
					}
				}
			}
		}
	}
}

// normals returns n standard normal float32 values from rng.
func normals(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// TestAttnScoresAsGemv: every score is, bit for bit, scale times the dot
// Gemv computes for that key — whether the key falls in a block of sixteen
// (summed lanes together, hd a multiple of 16) or among the rest.
func TestAttnScoresAsGemv(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, hd := range []int{3, 16, 17, 64, 80, 128} {
		for _, n := range []int{1, 15, 16, 17, 100} {
			for _, r := range []int{1, 3} {
				q, k := normals(rng, r*hd), normals(rng, n*hd)
				lds := n + 2
				s := make([]float32, r*lds)
				const scale = 0.125
				AttnScores(q, r, hd, k, n, scale, s, lds)
				dots := make([]float32, n)
				for h := range r {
					Gemv(k, q[h*hd:(h+1)*hd], dots, n, hd, 0)
					for j, d := range dots {
						if s[h*lds+j] != scale*d {
							t.Fatalf("hd %d n %d r %d: s[%d][%d] = %g, Gemv's dot × scale %g", hd, n, r, h, j, s[h*lds+j], scale*d)
						}
					}
				}
			}
		}
	}
}
