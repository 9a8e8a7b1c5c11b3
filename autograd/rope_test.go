package autograd

import (
	"math"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

var llama3Scaling = RoPEScaling{Type: "llama3", Factor: 32, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositions: 8192}

func TestRoPEHeadsGrad(t *testing.T) {
	// B=2, T=3, hd=4.
	for _, tc := range []struct {
		name  string
		width int
		r     RoPE
	}{
		{"neox rot 2", 24, RoPE{Heads: 2, Rot: 2, Theta: 10000}},
		{"neox full", 24, RoPE{Heads: 2, Theta: 10000}},
		{"blocks mha", 24, RoPE{Heads: 2, Theta: 10000, Layout: QKVBlocks}},
		{"blocks gqa linear", 32, RoPE{Heads: 4, KVHeads: 2, Theta: 10000, Layout: QKVBlocks, Scaling: RoPEScaling{Type: "linear", Factor: 2}}},
		{"blocks mqa llama3", 24, RoPE{Heads: 4, KVHeads: 1, Theta: 500000, Layout: QKVBlocks, Scaling: llama3Scaling}},
	} {
		in := []*tensor.Dense{randT(12, 0, 1, 6, tc.width)}
		err := CheckGrad(in, func(n []*G.Node) (*G.Node, error) { return RoPEHeads(n[0], 2, tc.r) }, GradCheck{})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
	}
}

// TestRoPEHeadsLayout checks the split on a qkv whose values encode their
// column, at position 0 (no rotation): y[b, j, 0, :] holds the columns of
// head j (q heads, then k heads, then v heads) of row b.
func TestRoPEHeadsLayout(t *testing.T) {
	const hd = 2
	for _, tc := range []struct {
		name string
		r    RoPE
		cols []int // first qkv column of each output head
	}{
		{"neox", RoPE{Heads: 2, Rot: 2, Theta: 10000}, []int{0, 6, 2, 8, 4, 10}},
		{"blocks", RoPE{Heads: 4, KVHeads: 2, Theta: 10000, Layout: QKVBlocks}, []int{0, 2, 4, 6, 8, 10, 12, 14}},
	} {
		S := len(tc.cols)
		const B = 2 // two rows of one position each
		qkv := make([]float64, B*S*hd)
		for i := range qkv {
			qkv[i] = float64(i)
		}
		g := G.NewGraph()
		x := G.NodeFromAny(g, tensor.New(tensor.WithShape(B, S*hd), tensor.WithBacking(qkv)), G.WithName("qkv"))
		y := forward(t, g, func() (*G.Node, error) { return RoPEHeads(x, B, tc.r) })
		if !y.Shape().Eq(tensor.Shape{B, S, 1, hd}) {
			t.Fatalf("%s: shape %v, want [%d %d 1 %d]", tc.name, y.Shape(), B, S, hd)
		}
		got := y.Value().Data().([]float64)
		for b := 0; b < B; b++ {
			for j, c := range tc.cols {
				for d := 0; d < hd; d++ {
					if w := float64(b*S*hd + c + d); got[(b*S+j)*hd+d] != w {
						t.Fatalf("%s: y[%d,%d,0,%d] = %v, want %v", tc.name, b, j, d, got[(b*S+j)*hd+d], w)
					}
				}
			}
		}
	}
}

// TestRoPEHeadsValues compares the float32 rotation with a float64 one of
// the same inverse frequencies, Llama layout with grouped kv heads.
func TestRoPEHeadsValues(t *testing.T) {
	const B, T, H, KV, hd = 2, 5, 2, 1, 8
	S := H + 2*KV
	r := RoPE{Heads: H, KVHeads: KV, Theta: 500000, Layout: QKVBlocks, Scaling: llama3Scaling}
	x64 := randT(21, 0, 1, B*T, S*hd).Data().([]float64)
	x32 := make([]float32, len(x64))
	for i, v := range x64 {
		x32[i] = float32(v)
	}
	g := G.NewGraph()
	x := G.NodeFromAny(g, tensor.New(tensor.WithShape(B*T, S*hd), tensor.WithBacking(x32)), G.WithName("qkv"))
	y := forward(t, g, func() (*G.Node, error) { return RoPEHeads(x, B, r) })
	got := y.Value().Data().([]float32)
	inv, err := RoPEInvFreq(hd, r.Theta, r.Scaling)
	if err != nil {
		t.Fatal(err)
	}
	for b := 0; b < B; b++ {
		for tt := 0; tt < T; tt++ {
			for j := 0; j < S; j++ {
				src := x64[(b*T+tt)*S*hd+j*hd:]
				for i := 0; i < hd; i++ {
					want := src[i]
					if j < H+KV {
						k := i % (hd / 2)
						a := float64(tt) * float64(inv[k])
						if i < hd/2 {
							want = src[i]*math.Cos(a) - src[i+hd/2]*math.Sin(a)
						} else {
							want = src[i]*math.Cos(a) + src[i-hd/2]*math.Sin(a)
						}
					}
					if g := float64(got[((b*S+j)*T+tt)*hd+i]); math.Abs(g-want) > 2e-6 {
						t.Fatalf("y[%d,%d,%d,%d] = %v, want %v", b, j, tt, i, g, want)
					}
				}
			}
		}
	}
}

// TestRoPEInvFreq checks the three scaling types against float64 formulas,
// at Llama-3.2's parameters (theta 500000, head dim 64, llama3 factor 32),
// where all three llama3 regimes occur.
func TestRoPEInvFreq(t *testing.T) {
	const rot, theta = 64, 500000.0
	base := make([]float64, rot/2)
	for i := range base {
		base[i] = math.Pow(theta, -float64(2*i)/rot)
	}
	check := func(name string, s RoPEScaling, want func(i int, f float64) float64) {
		t.Helper()
		got, err := RoPEInvFreq(rot, theta, s)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, f := range base {
			w := want(i, f)
			if math.Abs(float64(got[i])-w) > 1e-6*w {
				t.Fatalf("%s: inv_freq[%d] = %v, want %v", name, i, got[i], w)
			}
		}
	}
	check("default", RoPEScaling{}, func(_ int, f float64) float64 { return f })
	check("linear", RoPEScaling{Type: "linear", Factor: 4}, func(_ int, f float64) float64 { return f / 4 })
	regimes := map[string]int{}
	s := llama3Scaling
	check("llama3", s, func(i int, f float64) float64 {
		wave := 2 * math.Pi / f
		L := float64(s.OriginalMaxPositions)
		switch {
		case wave < L/s.HighFreqFactor:
			regimes["high"]++
			return f
		case wave > L/s.LowFreqFactor:
			regimes["low"]++
			return f / s.Factor
		}
		regimes["medium"]++
		sm := (L/wave - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor)
		return (1-sm)*f/s.Factor + sm*f
	})
	if regimes["high"] == 0 || regimes["low"] == 0 || regimes["medium"] == 0 {
		t.Fatalf("llama3 regimes %v: each should occur", regimes)
	}
}

func TestRoPERejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		r     RoPE
		width int
		want  string
	}{
		{RoPE{Heads: 4, KVHeads: 3, Theta: 1e4, Layout: QKVBlocks}, 40, "kv heads do not divide"},
		{RoPE{Heads: 4, KVHeads: 2, Theta: 1e4}, 32, "per-head qkv layout"},
		{RoPE{Heads: 2, Theta: 1e4, Layout: QKVBlocks}, 25, "width 25"},
		{RoPE{Heads: 2, Rot: 3, Theta: 1e4}, 24, "rotary dims 3"},
		{RoPE{Heads: 2, Theta: 0}, 24, "rope_theta = 0"},
		{RoPE{Heads: 2, Theta: 1e4, Scaling: RoPEScaling{Type: "yarn"}}, 24, `rope_type "yarn" is not supported`},
		{RoPE{Heads: 2, Theta: 1e4, Scaling: RoPEScaling{Type: "linear"}}, 24, "rope_scaling.factor = 0"},
		{RoPE{Heads: 2, Theta: 1e4, Scaling: RoPEScaling{Type: "llama3", Factor: 8, LowFreqFactor: 4, HighFreqFactor: 1, OriginalMaxPositions: 8192}}, 24, "high_freq_factor = 1"},
		{RoPE{Heads: 2, Theta: 1e4, Scaling: RoPEScaling{Type: "llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4}}, 24, "original_max_position_embeddings = 0"},
	} {
		g := G.NewGraph()
		x := G.NodeFromAny(g, tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(2, tc.width)), G.WithName("qkv"))
		if _, err := RoPEHeads(x, 1, tc.r); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want one containing %q", tc.r, err, tc.want)
		}
	}
}

// TestRoPEHeadsAgree32: float32 against float64, both layouts, through the
// backward too.
func TestRoPEHeadsAgree32(t *testing.T) {
	for _, tc := range []struct {
		name  string
		width int
		r     RoPE
	}{
		{"neox", 3 * 2 * 8, RoPE{Heads: 2, Rot: 4, Theta: 10000}},
		{"llama3 gqa", (4 + 2*2) * 8, RoPE{Heads: 4, KVHeads: 2, Theta: 500000, Layout: QKVBlocks, Scaling: llama3Scaling}},
	} {
		in := []*tensor.Dense{randT(22, 0, 1, 2*9, tc.width)}
		checkAgree32(t, tc.name, in, 3e-7, func(n []*G.Node) (*G.Node, error) { return RoPEHeads(n[0], 2, tc.r) })
	}
}
