package autograd

import (
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestGELUGrad(t *testing.T) {
	in := []*tensor.Dense{randT(6, 0, 2, 6, 5)}
	if err := CheckGrad(in, func(n []*G.Node) (*G.Node, error) { return GELU(n[0]) }, GradCheck{}); err != nil {
		t.Fatal(err)
	}
}
