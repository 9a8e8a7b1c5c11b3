package autograd

import (
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestRoPEHeadsGrad(t *testing.T) {
	// B=2, T=3, H=2, hd=4; partial (rot 2) and full (rot 4) rotation.
	for _, rot := range []int{2, 4} {
		in := []*tensor.Dense{randT(12, 0, 1, 6, 24)}
		err := CheckGrad(in, func(n []*G.Node) (*G.Node, error) { return RoPEHeads(n[0], 2, 2, rot, 10000) }, GradCheck{})
		if err != nil {
			t.Fatalf("rot %d: %v", rot, err)
		}
	}
}

// TestRoPEHeadsLayout checks the split on a qkv whose values encode their
// column, at position 0 (no rotation).
func TestRoPEHeadsLayout(t *testing.T) {
	const H, hd = 2, 2
	qkv := make([]float64, 3*H*hd)
	for i := range qkv {
		qkv[i] = float64(i)
	}
	g := G.NewGraph()
	x := G.NodeFromAny(g, tensor.New(tensor.WithShape(1, 3*H*hd), tensor.WithBacking(qkv)), G.WithName("qkv"))
	y := forward(t, g, func() (*G.Node, error) { return RoPEHeads(x, 1, H, 2, 10000) })
	// y[s,0,h,0,:] = qkv[h*3*hd + s*hd : …]
	want := []float64{0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11}
	got := y.Value().Data().([]float64)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("heads %v, want %v", got, want)
		}
	}
}
