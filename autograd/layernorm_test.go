package autograd

import (
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// randT returns a float64 tensor of the given shape with values
// offset + scale·N(0,1), deterministic in seed.
func randT(seed uint64, offset, scale float64, shape ...int) *tensor.Dense {
	t := tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(shape...))
	r := rand.New(rand.NewPCG(seed, 1))
	for i, d := 0, t.Data().([]float64); i < len(d); i++ {
		d[i] = offset + scale*r.NormFloat64()
	}
	return t
}

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
