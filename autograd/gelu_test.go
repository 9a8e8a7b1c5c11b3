package autograd

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestErfTable(t *testing.T) {
	var worstErf, worstPdf float64
	for x := -7.0; x <= 7.0; x += 0.0013 {
		worstErf = math.Max(worstErf, math.Abs(Erf(x)-math.Erf(x)))
		_, pdf := normal(x)
		worstPdf = math.Max(worstPdf, math.Abs(pdf-math.Exp(-x*x/2)/math.Sqrt(2*math.Pi)))
	}
	if worstErf > 2e-6 || worstPdf > 2e-6 {
		t.Fatalf("max abs error: erf %.3g, pdf %.3g, want <= 2e-6", worstErf, worstPdf)
	}
	t.Logf("max abs error: erf %.3g, pdf %.3g", worstErf, worstPdf)
}

func TestGELUGrad(t *testing.T) {
	in := []*tensor.Dense{randT(6, 0, 2, 6, 5)}
	if err := CheckGrad(in, func(n []*G.Node) (*G.Node, error) { return GELU(n[0]) }, GradCheck{}); err != nil {
		t.Fatal(err)
	}
}
