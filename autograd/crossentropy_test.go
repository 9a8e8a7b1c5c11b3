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
