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

// forward builds a node of graph g with build, runs g forward and returns
// the node; any error fails the test.
func forward(t *testing.T, g *G.ExprGraph, build func() (*G.Node, error)) *G.Node {
	t.Helper()
	y, err := build()
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMachine(g)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	return y
}
