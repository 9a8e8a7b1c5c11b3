package kernels

import (
	"math"
	"testing"
)

// rmsRef is RMSNorm written out in float64 for the tests.
func rmsRef(x, w []float64, D int, eps float64) []float64 {
	y := make([]float64, len(x))
	for i := 0; i < len(x); i += D {
		var s float64
		for _, v := range x[i : i+D] {
			s += v * v
		}
		r := 1 / math.Sqrt(s/float64(D)+eps)
		for j := 0; j < D; j++ {
			y[i+j] = x[i+j] * r * w[j]
		}
	}
	return y
}

// TestRMSNorm checks the float64 kernels against the formula (forward) and
// finite differences of it (both gradients), and the float32 kernels (C with
// cgo, and the pure-Go ones) against float64, for widths with and without a
// 16-lane tail.
func TestRMSNorm(t *testing.T) {
	const N, eps = 5, 1e-6
	for _, D := range []int{7, 16, 37, 256} {
		x := randSlice(1, N*D, 0.3, 1)
		w := randSlice(2, D, 1, 0.3)
		dy := randSlice(3, N*D, 0, 1)
		want := rmsRef(x, w, D, eps)
		wantDX := fdGrad(x, dy, func(x []float64) []float64 { return rmsRef(x, w, D, eps) })
		wantDW := fdGrad(w, dy, func(w []float64) []float64 { return rmsRef(x, w, D, eps) })

		y, dx, dw := make([]float64, N*D), make([]float64, N*D), make([]float64, D)
		RMSNorm(x, w, y, D, eps)
		RMSNormBackward(x, w, dy, dx, D, eps, false)
		RMSNormBackward(x, w, dy, dw, D, eps, true)
		for _, c := range []struct {
			name string
			got  []float64
			want []float64
			tol  float64
		}{{"y", y, want, 1e-15}, {"dx", dx, wantDX, 5e-9}, {"dw", dw, wantDW, 5e-9}} {
			if e := maxRelErr(c.got, c.want); e > c.tol {
				t.Errorf("D=%d float64 %s: max rel err %.3g > %.0g", D, c.name, e, c.tol)
			}
		}

		x32, w32, dy32 := to32(x), to32(w), to32(dy)
		for _, k := range []struct {
			name string
			fwd  func(x, w, y []float32, D int, eps float64)
			bwd  func(x, w, dy, out []float32, D int, eps float64, wrtW bool)
		}{
			{"RMSNorm (" + Impl + ")", RMSNorm[float32], RMSNormBackward[float32]},
			{"rmsNormGo", rmsNormGo[float32], rmsNormBackwardGo[float32]},
		} {
			y32, dx32, dw32 := make([]float32, N*D), make([]float32, N*D), make([]float32, D)
			k.fwd(x32, w32, y32, D, eps)
			k.bwd(x32, w32, dy32, dx32, D, eps, false)
			k.bwd(x32, w32, dy32, dw32, D, eps, true)
			for _, c := range []struct {
				name string
				got  []float32
				want []float64
			}{{"y", y32, y}, {"dx", dx32, dx}, {"dw", dw32, dw}} {
				if e := maxRelErr(c.got, c.want); e > 2e-7 {
					t.Errorf("D=%d %s %s: max rel err vs float64 %.3g > 2e-7", D, k.name, c.name, e)
				}
			}
		}
	}
}

// BenchmarkRMSNorm compares the float32 kernels (C with cgo) with the
// pure-Go ones at the reference width, N = 1024 rows.
func BenchmarkRMSNorm(b *testing.B) {
	const N, D, eps = 1024, 256, 1e-6
	x, w, dy := to32(randSlice(1, N*D, 0, 1)), to32(randSlice(2, D, 1, 0.1)), to32(randSlice(3, N*D, 0, 1))
	y, dw := make([]float32, N*D), make([]float32, D)
	for _, k := range []struct {
		name string
		fwd  func(x, w, y []float32, D int, eps float64)
		bwd  func(x, w, dy, out []float32, D int, eps float64, wrtW bool)
	}{{Impl, RMSNorm[float32], RMSNormBackward[float32]}, {"go", rmsNormGo[float32], rmsNormBackwardGo[float32]}} {
		b.Run(k.name+"/fwd", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				k.fwd(x, w, y, D, eps)
			}
		})
		b.Run(k.name+"/dx", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				k.bwd(x, w, dy, y, D, eps, false)
			}
		})
		b.Run(k.name+"/dw", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				k.bwd(x, w, dy, dw, D, eps, true)
			}
		})
	}
}
