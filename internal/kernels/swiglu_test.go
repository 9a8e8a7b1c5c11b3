package kernels

import (
	"math"
	"testing"
)

// swigluRef is SwiGLU written out in float64 for the tests.
func swigluRef(h []float64, F int) []float64 {
	N := len(h) / (2 * F)
	y := make([]float64, N*F)
	for n := 0; n < N; n++ {
		for f := 0; f < F; f++ {
			g, u := h[2*n*F+f], h[2*n*F+F+f]
			y[n*F+f] = g / (1 + math.Exp(-g)) * u
		}
	}
	return y
}

// TestSwiGLU checks the float64 kernels against the formula (forward) and
// finite differences of it (gradient), and the float32 kernels against
// float64, with gates up to ±12 and a few far beyond exp's float32 range.
func TestSwiGLU(t *testing.T) {
	const N = 4
	for _, F := range []int{5, 16, 41} {
		h := randSlice(4, N*2*F, 0, 4)
		h[0], h[1], h[2] = -200, 150, -95 // exp(-g) overflows / underflows in float32
		dy := randSlice(5, N*F, 0, 1)
		want := swigluRef(h, F)
		wantDH := fdGrad(h, dy, func(h []float64) []float64 { return swigluRef(h, F) })
		y, dh := make([]float64, N*F), make([]float64, N*2*F)
		SwiGLU(h, y, F)
		SwiGLUBackward(h, dy, dh, F)
		if e := maxRelErr(y, want); e > 1e-15 {
			t.Errorf("F=%d float64 y: max rel err %.3g", F, e)
		}
		if e := maxRelErr(dh, wantDH); e > 1e-9 {
			t.Errorf("F=%d float64 dh: max rel err %.3g", F, e)
		}
		h32, dy32 := to32(h), to32(dy)
		for _, k := range []struct {
			name string
			fwd  func(h, y []float32, F int)
			bwd  func(h, dy, dh []float32, F int)
		}{{"SwiGLU (" + Impl + ")", SwiGLU[float32], SwiGLUBackward[float32]}, {"swigluGo", swigluGo[float32], swigluBackwardGo[float32]}} {
			y32, dh32 := make([]float32, N*F), make([]float32, N*2*F)
			k.fwd(h32, y32, F)
			k.bwd(h32, dy32, dh32, F)
			if e := maxRelErr(y32, y); e > 2e-7 {
				t.Errorf("F=%d %s y: max rel err vs float64 %.3g", F, k.name, e)
			}
			if e := maxRelErr(dh32, dh); e > 2e-7 {
				t.Errorf("F=%d %s dh: max rel err vs float64 %.3g", F, k.name, e)
			}
			for i, v := range dh32 {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("F=%d %s dh[%d] = %v", F, k.name, i, v)
				}
			}
		}
	}
}

// BenchmarkSwiGLU compares the float32 kernels (C with cgo) with the
// pure-Go ones at N = 1024 rows, F = 1024.
func BenchmarkSwiGLU(b *testing.B) {
	const N, F = 1024, 1024
	h, dy := to32(randSlice(1, N*2*F, 0, 2)), to32(randSlice(2, N*F, 0, 1))
	y, dh := make([]float32, N*F), make([]float32, N*2*F)
	for _, k := range []struct {
		name string
		fwd  func(h, y []float32, F int)
		bwd  func(h, dy, dh []float32, F int)
	}{{Impl, SwiGLU[float32], SwiGLUBackward[float32]}, {"go", swigluGo[float32], swigluBackwardGo[float32]}} {
		b.Run(k.name+"/fwd", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				k.fwd(h, y, F)
			}
		})
		b.Run(k.name+"/bwd", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				k.bwd(h, dy, dh, F)
			}
		})
	}
}
