package autograd

import (
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestLinearGrad(t *testing.T) {
	in := []*tensor.Dense{randT(7, 0, 1, 5, 4), randT(8, 0, 1, 3, 4), randT(9, 0, 1, 3)}
	if err := CheckGrad(in, func(n []*G.Node) (*G.Node, error) { return Linear(n[0], n[1], n[2]) }, GradCheck{}); err != nil {
		t.Fatal(err)
	}
	if err := CheckGrad(in[:2], func(n []*G.Node) (*G.Node, error) { return Linear(n[0], n[1], nil) }, GradCheck{}); err != nil {
		t.Fatal(err)
	}
}
