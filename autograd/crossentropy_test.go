package autograd

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestCrossEntropyGrad(t *testing.T) {
	targets := []int32{2, -100, 0, 5, -100, 1}
	in := []*tensor.Dense{randT(11, 0, 2, 6, 6)}
	if err := CheckGrad(in, func(n []*G.Node) (*G.Node, error) { return CrossEntropy(n[0], targets, -100) }, GradCheck{}); err != nil {
		t.Fatal(err)
	}
}

// TestCrossEntropyValue checks the loss against a direct computation.
func TestCrossEntropyValue(t *testing.T) {
	z := []float64{1, 2, 3, 0, 0, 0}
	targets := []int32{2, -100}
	g := G.NewGraph()
	x := G.NodeFromAny(g, tensor.New(tensor.WithShape(2, 3), tensor.WithBacking(z)), G.WithName("z"))
	l := forward(t, g, func() (*G.Node, error) { return CrossEntropy(x, targets, -100) })
	want := math.Log(math.Exp(1)+math.Exp(2)+math.Exp(3)) - 3
	if got := scalarOf(l.Value()); math.Abs(got-want) > 1e-12 {
		t.Fatalf("loss %v, want %v", got, want)
	}
}

// TestCrossEntropyFloat32Grad checks the float32 path, where the forward
// writes the gradient and the backward is a view of it (dL = 1) or one
// scaling pass (dL ≠ 1), against (softmax − onehot)·dL/n in float64, over
// two runs with different targets (ignored rows included).
func TestCrossEntropyFloat32Grad(t *testing.T) {
	const N, V = 6, 37
	z := make([]float32, N*V)
	for i := range z {
		z[i] = float32(math.Sin(float64(i)*0.7)) * 3
	}
	for _, dL := range []float64{1, 2.5} {
		targets := []int32{2, -100, 0, 36, -100, 1}
		g := G.NewGraph()
		x := G.NewMatrix(g, tensor.Float32, G.WithShape(N, V), G.WithName("z"), G.WithValue(tensor.New(tensor.WithShape(N, V), tensor.WithBacking(z))))
		loss, err := CrossEntropy(x, targets, -100)
		if err != nil {
			t.Fatal(err)
		}
		out := loss
		if dL != 1 {
			if out, err = G.Mul(loss, G.NewConstant(float32(dL), G.WithName("dL"))); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := G.Grad(out, x); err != nil {
			t.Fatal(err)
		}
		m, err := NewMachine(g)
		if err != nil {
			t.Fatal(err)
		}
		for run := range 2 {
			if run == 1 {
				copy(targets, []int32{-100, 4, 4, -100, -100, 0})
			}
			m.Reset()
			if err := m.RunAll(); err != nil {
				t.Fatal(err)
			}
			gv, err := x.Grad()
			if err != nil {
				t.Fatal(err)
			}
			got := gv.Data().([]float32)
			n := 0
			for _, tg := range targets {
				if tg != -100 {
					n++
				}
			}
			for i, tg := range targets {
				row := z[i*V : (i+1)*V]
				var s float64
				for _, v := range row {
					s += math.Exp(float64(v))
				}
				for v := range V {
					want := 0.0
					if tg != -100 {
						want = math.Exp(float64(row[v])) / s
						if int32(v) == tg {
							want--
						}
						want *= dL / float64(n)
					}
					if d := math.Abs(float64(got[i*V+v]) - want); d > 1e-6 {
						t.Fatalf("dL=%v run %d: dz[%d,%d] = %v, expected %v", dL, run, i, v, got[i*V+v], want)
					}
				}
			}
		}
	}
}
