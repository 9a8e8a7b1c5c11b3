package autograd

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestCausalAttentionGrad(t *testing.T) {
	// heads [3,B=2,H=2,T=4,hd=3]
	for _, norm := range []Normalizer{NormSoftmax, NormSoftmax1, NormSinkLogit} {
		in := []*tensor.Dense{randT(13, 0, 1, 3, 2, 2, 4, 3)}
		build := func(n []*G.Node) (*G.Node, error) { return CausalAttention(n[0], nil, norm) }
		if norm == NormSinkLogit {
			in = append(in, randT(14, 0, 1, 2))
			build = func(n []*G.Node) (*G.Node, error) { return CausalAttention(n[0], n[1], norm) }
		}
		if err := CheckGrad(in, build, GradCheck{}); err != nil {
			t.Fatalf("normaliser %d: %v", norm, err)
		}
	}
}

// TestCausalAttentionProbs checks the probabilities on a grid: with q = 0
// every score is 0, so row i spreads its mass over i+1 keys (and the sink).
func TestCausalAttentionProbs(t *testing.T) {
	const T = 3
	for _, tc := range []struct {
		norm Normalizer
		sink float64
		rows [][]float64
	}{
		{NormSoftmax, 0, [][]float64{{1, 0, 0}, {1. / 2, 1. / 2, 0}, {1. / 3, 1. / 3, 1. / 3}}},
		{NormSoftmax1, 0, [][]float64{{1. / 2, 0, 0}, {1. / 3, 1. / 3, 0}, {1. / 4, 1. / 4, 1. / 4}}},
		{NormSinkLogit, math.Log(2), [][]float64{{1. / 3, 0, 0}, {1. / 4, 1. / 4, 0}, {1. / 5, 1. / 5, 1. / 5}}},
	} {
		g := G.NewGraph()
		x := G.NodeFromAny(g, tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(3, 1, 1, T, 2)), G.WithName("heads"))
		var sink *G.Node
		if tc.norm == NormSinkLogit {
			sink = G.NodeFromAny(g, tensor.New(tensor.WithShape(1), tensor.WithBacking([]float64{tc.sink})), G.WithName("sink"))
		}
		y := forward(t, g, func() (*G.Node, error) { return CausalAttention(x, sink, tc.norm) })
		p := AttentionProbs[float64](y)
		for i, row := range tc.rows {
			for j, want := range row {
				if math.Abs(p[i*T+j]-want) > 1e-12 {
					t.Fatalf("normaliser %d: p[%d][%d] = %v, want %v", tc.norm, i, j, p[i*T+j], want)
				}
			}
		}
	}
}

// TestCausalAttentionGradBlocks checks the causal tiling: T spans two full
// row blocks and a partial one.
func TestCausalAttentionGradBlocks(t *testing.T) {
	in := []*tensor.Dense{randT(15, 0, 1, 3, 1, 1, 2*attnBlock+22, 2)}
	build := func(n []*G.Node) (*G.Node, error) { return CausalAttention(n[0], nil, NormSoftmax1) }
	if err := CheckGrad(in, build, GradCheck{}); err != nil {
		t.Fatal(err)
	}
}

// TestCausalAttentionBlocksValues compares the tiled float32 forward with a
// direct float64 computation, T spanning two full row blocks and a partial one.
func TestCausalAttentionBlocksValues(t *testing.T) {
	const B, H, T, hd = 1, 2, 2*attnBlock + 22, 4
	x64 := randT(16, 0, 1, 3, B, H, T, hd).Data().([]float64)
	x32 := make([]float32, len(x64))
	for i, v := range x64 {
		x32[i] = float32(v)
	}
	g := G.NewGraph()
	x := G.NodeFromAny(g, tensor.New(tensor.WithShape(3, B, H, T, hd), tensor.WithBacking(x32)), G.WithName("heads"))
	y := forward(t, g, func() (*G.Node, error) { return CausalAttention(x, nil, NormSoftmax) })
	got := y.Value().Data().([]float32)
	blk := B * H * T * hd
	for h := 0; h < H; h++ {
		at := func(s, i, d int) float64 { return x64[s*blk+(h*T+i)*hd+d] }
		for i := 0; i < T; i++ {
			s := make([]float64, i+1)
			m, z := math.Inf(-1), 0.0
			for j := range s {
				for d := 0; d < hd; d++ {
					s[j] += at(0, i, d) * at(1, j, d) / 2 // √hd = 2
				}
				m = math.Max(m, s[j])
			}
			for j := range s {
				s[j] = math.Exp(s[j] - m)
				z += s[j]
			}
			for d := 0; d < hd; d++ {
				var want float64
				for j := range s {
					want += s[j] / z * at(2, j, d)
				}
				if g := float64(got[i*H*hd+h*hd+d]); math.Abs(g-want) > 1e-5 {
					t.Fatalf("head %d row %d dim %d: %v, want %v", h, i, d, g, want)
				}
			}
		}
	}
}
