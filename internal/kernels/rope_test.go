package kernels

import (
	"math"
	"testing"
)

// ropeCase is one geometry: H query heads, KV key and value heads of hd
// values, the first 2·half dims rotating, qkv columns per head (GPT-NeoX,
// [H, 3, hd]) or blocked ([q H·hd | k KV·hd | v KV·hd], Llama).
type ropeCase struct {
	name                  string
	B, T, H, KV, hd, half int
	perHead               bool
}

func (c ropeCase) geometry() RoPEHeads {
	S := c.H + 2*c.KV
	cols := make([]int, S)
	for j := range cols {
		cols[j] = j * c.hd
		if c.perHead {
			cols[j] = (j%c.H)*3*c.hd + (j/c.H)*c.hd
		}
	}
	return RoPEHeads{B: c.B, T: c.T, HeadDim: c.hd, Width: S * c.hd, Cols: cols, Rotated: c.H + c.KV}
}

// ropeTables returns cos and sin [T, half] of t·θ_i with θ_i = 10000^(−2i/(2·half)).
func ropeTables(T, half int) (cos, sin []float64) {
	for t := 0; t < T; t++ {
		for i := 0; i < half; i++ {
			a := float64(t) * math.Pow(10000, -float64(2*i)/float64(2*half))
			cos, sin = append(cos, math.Cos(a)), append(sin, math.Sin(a))
		}
	}
	return cos, sin
}

// ropeRef is the forward move written with complex numbers: the pair
// (x_i, x_{i+h}) is z = x_i + i·x_{i+h}, rotated to z·e^{iθ} (cos and sin
// given as tables, so the same angles as the kernel's).
func ropeRef(qkv, cos, sin []float64, m RoPEHeads) []float64 {
	S, hd, half := len(m.Cols), m.HeadDim, len(cos)/m.T
	out := make([]float64, m.B*S*m.T*hd)
	for b := 0; b < m.B; b++ {
		for t := 0; t < m.T; t++ {
			for j, c := range m.Cols {
				x := qkv[(b*m.T+t)*m.Width+c:][:hd]
				y := out[((b*S+j)*m.T+t)*hd:][:hd]
				copy(y, x)
				if j >= m.Rotated {
					continue
				}
				for i := 0; i < half; i++ {
					z := complex(x[i], x[i+half]) * complex(cos[t*half+i], sin[t*half+i])
					y[i], y[i+half] = real(z), imag(z)
				}
			}
		}
	}
	return out
}

var ropeCases = []ropeCase{
	{"gptneox partial", 2, 5, 3, 3, 8, 2, true},
	{"gptneox full", 1, 4, 2, 2, 6, 3, true},
	{"llama gqa", 2, 7, 4, 2, 6, 3, false},
	{"llama mqa odd", 3, 3, 5, 1, 10, 5, false},
	{"llama partial", 1, 6, 2, 1, 12, 4, false},
}

// TestRoPE checks the float64 move against the complex-number rotation,
// the backward move as its transpose (⟨R x, y⟩ = ⟨x, Rᵀ y⟩ and Rᵀ R x = x,
// rotations being orthogonal), and the float32 kernels (C with cgo, and
// pure Go) against float64 on the same float32 inputs.
func TestRoPE(t *testing.T) {
	for _, c := range ropeCases {
		m := c.geometry()
		S := len(m.Cols)
		cos, sin := ropeTables(c.T, c.half)
		qkv := randSlice(1, c.B*c.T*m.Width, 0, 1)
		dy := randSlice(2, c.B*S*c.T*c.hd, 0, 1)
		want := ropeRef(qkv, cos, sin, m)
		y := make([]float64, len(want))
		RoPE(qkv, y, cos, sin, m, false)
		if e := maxRelErr(y, want); e > 1e-15 {
			t.Errorf("%s float64 forward: max rel err %.3g", c.name, e)
		}
		back := make([]float64, len(qkv))
		RoPE(back, y, cos, sin, m, true)
		if e := maxRelErr(back, qkv); e > 1e-15 {
			t.Errorf("%s float64: back(forward(x)) differs from x by %.3g", c.name, e)
		}
		RoPE(back, dy, cos, sin, m, true)
		var lhs, rhs float64
		for i := range y {
			lhs += y[i] * dy[i]
		}
		for i := range qkv {
			rhs += qkv[i] * back[i]
		}
		if math.Abs(lhs-rhs) > 1e-12*math.Abs(lhs) {
			t.Errorf("%s: ⟨Rx, y⟩ = %v but ⟨x, Rᵀy⟩ = %v", c.name, lhs, rhs)
		}
		q32, dy32, c32, s32 := to32(qkv), to32(dy), to32(cos), to32(sin)
		wantF := ropeRef(to64(q32), to64(c32), to64(s32), m)
		wantB := make([]float64, len(qkv))
		RoPE(wantB, to64(dy32), to64(c32), to64(s32), m, true)
		for _, k := range []struct {
			name string
			f    func(qkv, heads, cos, sin []float32, m RoPEHeads, back bool)
		}{{"RoPE (" + Impl + ")", RoPE[float32]}, {"ropeGo", ropeGo[float32]}} {
			y32 := make([]float32, len(want))
			k.f(q32, y32, c32, s32, m, false)
			if e := maxRelErr(y32, wantF); e > 3e-7 {
				t.Errorf("%s %s forward: max rel err vs float64 %.3g", c.name, k.name, e)
			}
			b32 := make([]float32, len(qkv))
			k.f(b32, dy32, c32, s32, m, true)
			if e := maxRelErr(b32, wantB); e > 3e-7 {
				t.Errorf("%s %s back: max rel err vs float64 %.3g", c.name, k.name, e)
			}
		}
	}
}

// TestRoPEBadGeometry: a geometry that does not fit leaves the output alone.
func TestRoPEBadGeometry(t *testing.T) {
	c := ropeCases[2]
	m := c.geometry()
	cos, sin := ropeTables(c.T, c.half)
	qkv := to32(randSlice(1, c.B*c.T*m.Width, 0, 1))
	cos32, sin32 := to32(cos), to32(sin)
	for name, bad := range map[string]func(*RoPEHeads) ([]float32, []float32){
		"short qkv":     func(*RoPEHeads) ([]float32, []float32) { return qkv[1:], cos32 },
		"column past W": func(g *RoPEHeads) ([]float32, []float32) { g.Cols[0] = g.Width - 1; return qkv, cos32 },
		"table too big": func(g *RoPEHeads) ([]float32, []float32) { g.HeadDim = 4; return qkv, cos32 },
		"odd table":     func(*RoPEHeads) ([]float32, []float32) { return qkv, cos32[1:] },
		"rotated > S":   func(g *RoPEHeads) ([]float32, []float32) { g.Rotated = len(g.Cols) + 1; return qkv, cos32 },
	} {
		g := c.geometry()
		q, cs := bad(&g)
		heads := make([]float32, c.B*len(m.Cols)*c.T*c.hd)
		RoPE(q, heads, cs, sin32[:len(cs)], g, false)
		for _, v := range heads {
			if v != 0 {
				t.Errorf("%s: the kernel wrote its output", name)
				break
			}
		}
	}
}

// BenchmarkRoPE compares the float32 kernels (C with cgo) with the pure-Go
// ones on one graph's share of the Llama reference twin's step (batch 4,
// T = 256, 4 query + 2 key + 2 value heads of 64).
func BenchmarkRoPE(b *testing.B) {
	c := ropeCase{"reference-llama", 4, 256, 4, 2, 64, 32, false}
	m := c.geometry()
	cos, sin := ropeTables(c.T, c.half)
	qkv, c32, s32 := to32(randSlice(1, c.B*c.T*m.Width, 0, 1)), to32(cos), to32(sin)
	heads := make([]float32, c.B*len(m.Cols)*c.T*c.hd)
	for _, k := range []struct {
		name string
		f    func(qkv, heads, cos, sin []float32, m RoPEHeads, back bool)
	}{{Impl, RoPE[float32]}, {"go", ropeGo[float32]}} {
		for _, back := range []bool{false, true} {
			name := k.name + "/fwd"
			if back {
				name = k.name + "/bwd"
			}
			b.Run(name, func(b *testing.B) {
				b.SetBytes(int64(8 * len(heads)))
				for range b.N {
					k.f(qkv, heads, c32, s32, m, back)
				}
			})
		}
	}
}
