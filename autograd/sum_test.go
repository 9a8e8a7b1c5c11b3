package autograd

import (
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestSumGrad(t *testing.T) {
	in := []*tensor.Dense{randT(21, 0, 1, 4, 3), randT(22, 0, 1, 4, 3), randT(23, 0, 1, 4, 3)}
	if err := CheckGrad(in, func(n []*G.Node) (*G.Node, error) { return Sum(n...) }, GradCheck{}); err != nil {
		t.Fatal(err)
	}
}
