package autograd

import (
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestLayerNormGrad(t *testing.T) {
	in := []*tensor.Dense{randT(1, 0.3, 1, 5, 7), randT(2, 1, 0.2, 7), randT(3, 0, 0.2, 7)}
	err := CheckGrad(in, func(n []*G.Node) (*G.Node, error) { return LayerNorm(n[0], n[1], n[2], 1e-5) }, GradCheck{})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAddBiasGrad(t *testing.T) {
	in := []*tensor.Dense{randT(4, 0, 1, 4, 3), randT(5, 0, 1, 3)}
	if err := CheckGrad(in, func(n []*G.Node) (*G.Node, error) { return AddBias(n[0], n[1]) }, GradCheck{}); err != nil {
		t.Fatal(err)
	}
}
