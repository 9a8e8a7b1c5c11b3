package autograd

import (
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestConcatRowsGrad: weights [2,3]+[1,3]+[2,3] and biases [2]+[3], each
// through a consumer that is not linear in the rows (the gradient of each
// part must come from its own rows).
func TestConcatRowsGrad(t *testing.T) {
	in := []*tensor.Dense{randT(51, 0, 1, 2, 3), randT(52, 0, 1, 1, 3), randT(53, 0, 1, 2, 3), randT(56, 1, 0.2, 3)}
	err := CheckGrad(in, func(n []*G.Node) (*G.Node, error) {
		c, err := ConcatRows(n[:3]...)
		if err != nil {
			return nil, err
		}
		return RMSNorm(c, n[3], 1e-6)
	}, GradCheck{})
	if err != nil {
		t.Fatal(err)
	}
	in = []*tensor.Dense{randT(54, 0, 1, 2), randT(55, 0, 1, 3)}
	err = CheckGrad(in, func(n []*G.Node) (*G.Node, error) {
		c, err := ConcatRows(n...)
		if err != nil {
			return nil, err
		}
		return GELU(c)
	}, GradCheck{})
	if err != nil {
		t.Fatal(err)
	}
}

// TestConcatRowsValues checks the stacking order on values that encode
// their position.
func TestConcatRowsValues(t *testing.T) {
	g := G.NewGraph()
	a := G.NodeFromAny(g, tensor.New(tensor.WithShape(1, 2), tensor.WithBacking([]float32{1, 2})), G.WithName("a"))
	b := G.NodeFromAny(g, tensor.New(tensor.WithShape(2, 2), tensor.WithBacking([]float32{3, 4, 5, 6})), G.WithName("b"))
	y := forward(t, g, func() (*G.Node, error) { return ConcatRows(a, b) })
	got := y.Value().Data().([]float32)
	if !y.Shape().Eq(tensor.Shape{3, 2}) || len(got) != 6 {
		t.Fatalf("shape %v", y.Shape())
	}
	for i, v := range got {
		if v != float32(i+1) {
			t.Fatalf("y = %v, want 1…6", got)
		}
	}
	c := G.NodeFromAny(g, tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float32{1, 2, 3, 4, 5, 6})), G.WithName("c"))
	if _, err := ConcatRows(a, c); err == nil {
		t.Fatal("widths 2 and 3 accepted")
	}
}
