package autograd

import (
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestRMSNormGrad(t *testing.T) {
	in := []*tensor.Dense{randT(31, 0.3, 1, 5, 7), randT(32, 1, 0.2, 7)}
	err := CheckGrad(in, func(n []*G.Node) (*G.Node, error) { return RMSNorm(n[0], n[1], 1e-6) }, GradCheck{})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRMSNormAgree32: the float32 kernels (width 37: 16-lane blocks and a
// tail) against the float64 op.
func TestRMSNormAgree32(t *testing.T) {
	in := []*tensor.Dense{randT(33, 0.3, 1, 6, 37), randT(34, 1, 0.2, 37)}
	checkAgree32(t, "RMSNorm", in, 3e-7, func(n []*G.Node) (*G.Node, error) { return RMSNorm(n[0], n[1], 1e-5) })
}
