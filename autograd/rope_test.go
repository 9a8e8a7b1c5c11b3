package autograd

import (
	"math"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// invFreq returns theta^(−2i/rot)/div for i < rot/2.
func invFreq(rot int, theta, div float64) []float64 {
	f := make([]float64, rot/2)
	for i := range f {
		f[i] = math.Pow(theta, -float64(2*i)/float64(rot)) / div
	}
	return f
}

func TestRoPEHeadsGrad(t *testing.T) {
	// B=2, T=3, hd=4.
	for _, tc := range []struct {
		name  string
		width int
		r     RoPE
	}{
		{"neox rot 2", 24, RoPE{Heads: 2, InvFreq: invFreq(2, 10000, 1)}},
		{"neox full", 24, RoPE{Heads: 2, InvFreq: invFreq(4, 10000, 1)}},
		{"blocked mha", 24, RoPE{Heads: 2, InvFreq: invFreq(4, 10000, 1), Layout: QKVBlocked}},
		{"blocked gqa", 32, RoPE{Heads: 4, KVHeads: 2, InvFreq: invFreq(4, 10000, 2), Layout: QKVBlocked}},
		{"blocked mqa", 24, RoPE{Heads: 4, KVHeads: 1, InvFreq: invFreq(4, 500000, 1), Layout: QKVBlocked}},
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
		{"neox", RoPE{Heads: 2, InvFreq: invFreq(2, 10000, 1)}, []int{0, 6, 2, 8, 4, 10}},
		{"blocked", RoPE{Heads: 4, KVHeads: 2, InvFreq: invFreq(2, 10000, 1), Layout: QKVBlocked}, []int{0, 2, 4, 6, 8, 10, 12, 14}},
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
// the same inverse frequencies, blocked (Llama) layout with grouped kv heads.
func TestRoPEHeadsValues(t *testing.T) {
	const B, T, H, KV, hd = 2, 5, 2, 1, 8
	S := H + 2*KV
	inv := invFreq(hd, 500000, 1)
	inv[3] /= 8 // a scaled low frequency, as llama3 rope_scaling makes them
	r := RoPE{Heads: H, KVHeads: KV, InvFreq: inv, Layout: QKVBlocked}
	x64 := randT(21, 0, 1, B*T, S*hd).Data().([]float64)
	x32 := make([]float32, len(x64))
	for i, v := range x64 {
		x32[i] = float32(v)
	}
	g := G.NewGraph()
	x := G.NodeFromAny(g, tensor.New(tensor.WithShape(B*T, S*hd), tensor.WithBacking(x32)), G.WithName("qkv"))
	y := forward(t, g, func() (*G.Node, error) { return RoPEHeads(x, B, r) })
	got := y.Value().Data().([]float32)
	for b := 0; b < B; b++ {
		for tt := 0; tt < T; tt++ {
			for j := 0; j < S; j++ {
				src := x64[(b*T+tt)*S*hd+j*hd:]
				for i := 0; i < hd; i++ {
					want := src[i]
					if j < H+KV {
						k := i % (hd / 2)
						a := float64(tt) * inv[k]
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

func TestRoPERejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		r     RoPE
		width int
		want  string
	}{
		{RoPE{Heads: 4, KVHeads: 3, InvFreq: invFreq(2, 1e4, 1), Layout: QKVBlocked}, 40, "kv heads do not divide"},
		{RoPE{Heads: 4, KVHeads: 2, InvFreq: invFreq(2, 1e4, 1)}, 32, "per-head qkv layout"},
		{RoPE{Heads: 2, InvFreq: invFreq(2, 1e4, 1), Layout: QKVBlocked}, 25, "width 25"},
		{RoPE{Heads: 2, InvFreq: invFreq(6, 1e4, 1)}, 24, "rotate 6 dims"},
		{RoPE{Heads: 2}, 24, "rotate 0 dims"},
		{RoPE{Heads: 2, InvFreq: []float64{1, math.NaN()}}, 24, "inverse frequency 1 is NaN"},
		{RoPE{Heads: 2, InvFreq: invFreq(2, 1e4, 1), Layout: 7}, 24, "unknown qkv layout 7"},
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
		{"neox", 3 * 2 * 8, RoPE{Heads: 2, InvFreq: invFreq(4, 10000, 1)}},
		{"blocked gqa", (4 + 2*2) * 8, RoPE{Heads: 4, KVHeads: 2, InvFreq: invFreq(8, 500000, 1), Layout: QKVBlocked}},
	} {
		in := []*tensor.Dense{randT(22, 0, 1, 2*9, tc.width)}
		checkAgree32(t, tc.name, in, 3e-7, func(n []*G.Node) (*G.Node, error) { return RoPEHeads(n[0], 2, tc.r) })
	}
}
