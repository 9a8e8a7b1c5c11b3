package autograd

import (
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestSwiGLUGrad(t *testing.T) {
	in := []*tensor.Dense{randT(41, 0, 2, 4, 10)}
	if err := CheckGrad(in, func(n []*G.Node) (*G.Node, error) { return SwiGLU(n[0]) }, GradCheck{}); err != nil {
		t.Fatal(err)
	}
}

func TestSwiGLUAgree32(t *testing.T) {
	in := []*tensor.Dense{randT(42, 0, 3, 5, 2*37)}
	checkAgree32(t, "SwiGLU", in, 3e-7, func(n []*G.Node) (*G.Node, error) { return SwiGLU(n[0]) })
}

func TestSwiGLURejectsOddWidth(t *testing.T) {
	g := G.NewGraph()
	h := G.NodeFromAny(g, tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(2, 5)), G.WithName("h"))
	if _, err := SwiGLU(h); err == nil || !strings.Contains(err.Error(), "even width") {
		t.Fatalf("err = %v, want an even-width error", err)
	}
}
