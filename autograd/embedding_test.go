package autograd

import (
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestEmbeddingGrad(t *testing.T) {
	ids := []int32{3, 0, 3, 1, 4}
	in := []*tensor.Dense{randT(10, 0, 1, 5, 3)}
	if err := CheckGrad(in, func(n []*G.Node) (*G.Node, error) { return Embedding(n[0], ids) }, GradCheck{}); err != nil {
		t.Fatal(err)
	}
}
