package autograd

import (
	"fmt"
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// runGrad builds a graph over inputs (float64 tensors, converted to T) and
// returns its output and the gradients of L = Σ y⊙R (R fixed, random) with
// respect to every input, as float64.
func runGrad[T Float](inputs []*tensor.Dense, build func(in []*G.Node) (*G.Node, error)) ([]float64, [][]float64, error) {
	g := G.NewGraph()
	conv := func(v []float64) []T {
		out := make([]T, len(v))
		for i, x := range v {
			out[i] = T(x)
		}
		return out
	}
	nodes := make([]*G.Node, len(inputs))
	for i, in := range inputs {
		v := tensor.New(tensor.WithShape(in.Shape().Clone()...), tensor.WithBacking(conv(in.Data().([]float64))))
		nodes[i] = G.NodeFromAny(g, v, G.WithName(fmt.Sprintf("in%d", i)))
	}
	y, err := build(nodes)
	if err != nil {
		return nil, nil, err
	}
	r := randT(99, 0, 1, y.Shape()...)
	rn := G.NodeFromAny(g, tensor.New(tensor.WithShape(y.Shape().Clone()...), tensor.WithBacking(conv(r.Data().([]float64)))), G.WithName("r"))
	prod, err := G.HadamardProd(y, rn)
	if err != nil {
		return nil, nil, err
	}
	loss, err := G.Sum(prod)
	if err != nil {
		return nil, nil, err
	}
	grads, err := G.Grad(loss, nodes...)
	if err != nil {
		return nil, nil, err
	}
	yv := make([]T, y.Shape().TotalSize())
	if _, err := Tap(y, yv); err != nil {
		return nil, nil, err
	}
	gv := make([][]T, len(grads))
	for i, gn := range grads {
		gv[i] = make([]T, inputs[i].Size())
		if _, err := Tap(gn, gv[i]); err != nil {
			return nil, nil, err
		}
	}
	m, err := NewMachine(g)
	if err != nil {
		return nil, nil, err
	}
	defer m.Close()
	if err := m.RunAll(); err != nil {
		return nil, nil, err
	}
	back := func(v []T) []float64 {
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out
	}
	res := make([][]float64, len(gv))
	for i := range gv {
		res[i] = back(gv[i])
	}
	return back(yv), res, nil
}

// checkAgree32 runs build in float64 and float32 and fails unless the
// outputs and every input gradient agree within tol, relative to the
// largest float64 magnitude of each.
func checkAgree32(t *testing.T, name string, inputs []*tensor.Dense, tol float64, build func(in []*G.Node) (*G.Node, error)) {
	t.Helper()
	y64, g64, err := runGrad[float64](inputs, build)
	if err != nil {
		t.Fatalf("%s float64: %v", name, err)
	}
	y32, g32, err := runGrad[float32](inputs, build)
	if err != nil {
		t.Fatalf("%s float32: %v", name, err)
	}
	cmp := func(what string, a, b []float64) {
		t.Helper()
		var scale, worst float64
		for i := range b {
			scale = math.Max(scale, math.Abs(b[i]))
			worst = math.Max(worst, math.Abs(a[i]-b[i]))
		}
		t.Logf("%s %s: %.3g", name, what, worst/scale)
		if scale == 0 || worst > tol*scale {
			t.Errorf("%s %s: float32 vs float64 max error %.3g of scale %.3g (tolerance %.0g relative)", name, what, worst, scale, tol)
		}
	}
	cmp("output", y32, y64)
	for i := range g64 {
		cmp(fmt.Sprintf("gradient %d", i), g32[i], g64[i])
	}
}
