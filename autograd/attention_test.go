package autograd

import (
	"fmt"
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestCausalAttentionGrad(t *testing.T) {
	// heads [B=2, H+2·KV, T=4, hd=3]: MHA with H=2, GQA with H=4 and KV=2
	// or 1 (multi-query).
	for _, hk := range [][2]int{{2, 2}, {4, 2}, {4, 1}} {
		H, KV := hk[0], hk[1]
		for _, norm := range []Normalizer{NormSoftmax, NormSoftmax1, NormSinkLogit} {
			in := []*tensor.Dense{randT(13, 0, 1, 2, H+2*KV, 4, 3)}
			build := func(n []*G.Node) (*G.Node, error) { return CausalAttention(n[0], KV, nil, norm) }
			if norm == NormSinkLogit {
				in = append(in, randT(14, 0, 1, H))
				build = func(n []*G.Node) (*G.Node, error) { return CausalAttention(n[0], KV, n[1], norm) }
			}
			if err := CheckGrad(in, build, GradCheck{}); err != nil {
				t.Fatalf("H=%d KV=%d normaliser %d: %v", H, KV, norm, err)
			}
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
		x := G.NodeFromAny(g, tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(1, 3, T, 2)), G.WithName("heads"))
		var sink *G.Node
		if tc.norm == NormSinkLogit {
			sink = G.NodeFromAny(g, tensor.New(tensor.WithShape(1), tensor.WithBacking([]float64{tc.sink})), G.WithName("sink"))
		}
		y := forward(t, g, func() (*G.Node, error) { return CausalAttention(x, 1, sink, tc.norm) })
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
// row blocks and a partial one, with one head and with two query heads
// sharing a kv head (dK and dV summed across blocks and heads).
func TestCausalAttentionGradBlocks(t *testing.T) {
	for _, H := range []int{1, 2} {
		in := []*tensor.Dense{randT(15, 0, 1, 1, H+2, 2*attnBlock+22, 2)}
		build := func(n []*G.Node) (*G.Node, error) { return CausalAttention(n[0], 1, nil, NormSoftmax1) }
		if err := CheckGrad(in, build, GradCheck{}); err != nil {
			t.Fatalf("H=%d: %v", H, err)
		}
	}
}

// TestCausalAttentionBlocksValues compares the tiled float32 forward with a
// direct float64 computation, T spanning two full row blocks and a partial
// one, for multi-head (KV = H) and grouped-query (KV = H/2) attention.
func TestCausalAttentionBlocksValues(t *testing.T) {
	const B, H, T, hd = 2, 4, 2*attnBlock + 22, 4
	for _, KV := range []int{H, H / 2} {
		S := H + 2*KV
		x64 := randT(16, 0, 1, B, S, T, hd).Data().([]float64)
		x32 := make([]float32, len(x64))
		for i, v := range x64 {
			x32[i] = float32(v)
		}
		g := G.NewGraph()
		x := G.NodeFromAny(g, tensor.New(tensor.WithShape(B, S, T, hd), tensor.WithBacking(x32)), G.WithName("heads"))
		y := forward(t, g, func() (*G.Node, error) { return CausalAttention(x, KV, nil, NormSoftmax) })
		got := y.Value().Data().([]float32)
		for b := 0; b < B; b++ {
			for h := 0; h < H; h++ {
				kv := h / (H / KV)
				at := func(j, i, d int) float64 { return x64[((b*S+j)*T+i)*hd+d] }
				for i := 0; i < T; i++ {
					s := make([]float64, i+1)
					m, z := math.Inf(-1), 0.0
					for j := range s {
						for d := 0; d < hd; d++ {
							s[j] += at(h, i, d) * at(H+kv, j, d) / 2 // √hd = 2
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
							want += s[j] / z * at(H+KV+kv, j, d)
						}
						if g := float64(got[(b*T+i)*H*hd+h*hd+d]); math.Abs(g-want) > 1e-5 {
							t.Fatalf("KV=%d batch %d head %d row %d dim %d: %v, want %v", KV, b, h, i, d, g, want)
						}
					}
				}
			}
		}
	}
}

// BenchmarkAttention times the fused attention forward and backward (op Do
// calls, float32, single-threaded BLAS) at the reference shape: B=4 (one
// graph's share of batch 8 on 2 cores), H=4, T=256, hd=64; multi-head and
// with 2 kv heads.
func BenchmarkAttention(b *testing.B) {
	const B, H, T, hd = 4, 4, 256, 64
	SetBLASThreads(1)
	for _, KV := range []int{H, 2} {
		S := H + 2*KV
		x := tensor.New(tensor.WithShape(B, S, T, hd), tensor.WithBacking(rand32(1, B*S*T*hd)))
		dctx := tensor.New(tensor.WithShape(B*T, H*hd), tensor.WithBacking(rand32(2, B*T*H*hd)))
		a := &attnShape{B: B, H: H, KV: KV, T: T, hd: hd, norm: NormSoftmax}
		fwd := &attentionOp{base: base{name: "CausalAttention", arity: 1}, a: a}
		bwd := &attentionGradOp{base: base{name: "CausalAttentionGrad", arity: 2}, a: a}
		name := "mha"
		if KV != H {
			name = "gqa"
		}
		b.Run(name+"/fwd", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := fwd.Do(x); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/bwd", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := bwd.Do(x, dctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// rand32 returns n float32 values N(0,1), deterministic in seed.
func rand32(seed uint64, n int) []float32 {
	d := randT(seed, 0, 1, n).Data().([]float64)
	out := make([]float32, n)
	for i, v := range d {
		out[i] = float32(v)
	}
	return out
}

// TestCausalAttentionAgree32: the float32 kernels against the float64 op,
// grouped-query (H=4, KV=2) and multi-query (KV=1), every normaliser, T
// spanning a full row block and a partial one.
func TestCausalAttentionAgree32(t *testing.T) {
	const B, H, T, hd = 2, 4, attnBlock + 9, 8
	for _, KV := range []int{2, 1} {
		for _, norm := range []Normalizer{NormSoftmax, NormSoftmax1, NormSinkLogit} {
			in := []*tensor.Dense{randT(17, 0, 1, B, H+2*KV, T, hd)}
			build := func(n []*G.Node) (*G.Node, error) { return CausalAttention(n[0], KV, nil, norm) }
			if norm == NormSinkLogit {
				in = append(in, randT(18, 0, 1, H))
				build = func(n []*G.Node) (*G.Node, error) { return CausalAttention(n[0], KV, n[1], norm) }
			}
			checkAgree32(t, fmt.Sprintf("KV=%d normaliser %d", KV, norm), in, 1e-6, build)
		}
	}
}
