package autograd

import (
	"fmt"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// RoPEHeads splits the fused GPT-NeoX qkv projection into heads and applies
// partial rotary position embeddings to q and k:
//
//	qkv [B·T, 3D] viewed as [B,T,H,3·hd];  q = [:hd], k = [hd:2hd], v = [2hd:]
//	y [3,B,H,T,hd]: y[0]=rope(q), y[1]=rope(k), y[2]=v
//
// rope rotates the first rot dims of a head with the NeoX rotate_half
// pairing (i with i+rot/2), position t = 0…T−1, θ_i = base^(−2i/rot):
//
//	x'_i = x_i·cos(tθ_i) − x_{i+rot/2}·sin(tθ_i)
//	x'_{i+rot/2} = x_{i+rot/2}·cos(tθ_i) + x_i·sin(tθ_i)      (i < rot/2)
//
// Angles are computed in float32 as transformers does. Backward applies the
// transposed rotation and merges the heads back into the qkv layout.
func RoPEHeads(qkv *G.Node, batch, heads, rot int, theta float64) (*G.Node, error) {
	if err := wantDims("RoPEHeads", "qkv", qkv, 2); err != nil {
		return nil, err
	}
	s := qkv.Shape()
	if batch <= 0 || s[0]%batch != 0 {
		return nil, fmt.Errorf("autograd: RoPEHeads: %d rows are not divisible by batch %d", s[0], batch)
	}
	if heads <= 0 || s[1]%(3*heads) != 0 {
		return nil, fmt.Errorf("autograd: RoPEHeads: width %d is not 3·heads(%d)·head_dim", s[1], heads)
	}
	hd := s[1] / (3 * heads)
	if rot < 0 || rot > hd || rot%2 != 0 {
		return nil, fmt.Errorf("autograd: RoPEHeads: rotary dims %d, expected an even number in [0, %d]", rot, hd)
	}
	if !(theta > 0) {
		return nil, fmt.Errorf("autograd: RoPEHeads: base %v, expected > 0", theta)
	}
	T := s[0] / batch
	r := &ropeShape{B: batch, T: T, H: heads, hd: hd, rot: rot}
	r.cos, r.sin = ropeTable(T, rot, theta)
	return apply(&ropeOp{base: base{name: "RoPEHeads", arity: 1}, r: r}, "rope("+qkv.Name()+")", qkv)
}

// ropeShape holds the geometry and the cos/sin tables [T, rot/2].
type ropeShape struct {
	B, T, H, hd, rot int
	cos, sin         []float64 // [T, rot/2]
}

// ropeTable returns cos and sin of t·θ_i (float32 angles, as transformers).
func ropeTable(T, rot int, base float64) (cos, sin []float64) {
	half := rot / 2
	cos, sin = make([]float64, T*half), make([]float64, T*half)
	for i := 0; i < half; i++ {
		p := float32(math.Pow(base, float64(float32(2*i)/float32(rot))))
		inv := 1 / p
		for t := 0; t < T; t++ {
			a := float64(float32(t) * inv)
			cos[t*half+i], sin[t*half+i] = math.Cos(a), math.Sin(a)
		}
	}
	return cos, sin
}

type ropeOp struct {
	base
	r   *ropeShape
	out outBuf // [3, B, H, T, hd]
}

// ropeGradOp maps dy [3,B,H,T,hd] back to dqkv [B·T, 3D].
type ropeGradOp struct {
	base
	r   *ropeShape
	out outBuf // [B·T, 3D]
}

var (
	_ G.Op   = (*ropeOp)(nil)
	_ G.SDOp = (*ropeOp)(nil)
	_ G.Op   = (*ropeGradOp)(nil)
)

func (o *ropeOp) Type() hm.Type { return fnType(5, 2) }

func (o *ropeOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	r := o.r
	return tensor.Shape{3, r.B, r.H, r.T, r.hd}, nil
}

func (o *ropeOp) Do(in ...G.Value) (G.Value, error) {
	r := o.r
	out, err := o.output(in, &o.out, 3, r.B, r.H, r.T, r.hd)
	if err != nil {
		return nil, err
	}
	return run(out, func(y []float32) { ropeMove(r, vals[float32](in[0]), y, false) },
		func(y []float64) { ropeMove(r, vals[float64](in[0]), y, false) })
}

func (o *ropeOp) DiffWRT(int) []bool { return []bool{true} }

func (o *ropeOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	d, err := apply(&ropeGradOp{base: base{name: "RoPEHeadsGrad", arity: 1}, r: o.r}, "drope", grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{d}, nil
}

func (o *ropeGradOp) Type() hm.Type { return fnType(2, 5) }

func (o *ropeGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	r := o.r
	return tensor.Shape{r.B * r.T, 3 * r.H * r.hd}, nil
}

func (o *ropeGradOp) Do(in ...G.Value) (G.Value, error) {
	r := o.r
	out, err := o.output(in, &o.out, r.B*r.T, 3*r.H*r.hd)
	if err != nil {
		return nil, err
	}
	return run(out, func(dx []float32) { ropeMove(r, dx, vals[float32](in[0]), true) },
		func(dx []float64) { ropeMove(r, dx, vals[float64](in[0]), true) })
}

// ropeMove moves data between the qkv layout and the head layout, rotating
// q and k: forward (back=false) reads qkv and writes heads; back=true reads
// heads (a gradient) and writes qkv with the transposed rotation.
func ropeMove[T Float](r *ropeShape, qkv, heads []T, back bool) {
	B, Tn, H, hd, half := r.B, r.T, r.H, r.hd, r.rot/2
	D3 := 3 * H * hd
	for b := 0; b < B; b++ {
		for t := 0; t < Tn; t++ {
			row := qkv[(b*Tn+t)*D3 : (b*Tn+t+1)*D3]
			cs, sn := r.cos[t*half:(t+1)*half], r.sin[t*half:(t+1)*half]
			for h := 0; h < H; h++ {
				for s := 0; s < 3; s++ {
					src := row[h*3*hd+s*hd : h*3*hd+(s+1)*hd]
					dst := heads[(((s*B+b)*H+h)*Tn+t)*hd : (((s*B+b)*H+h)*Tn+t+1)*hd]
					if back {
						copy(src[half*2:], dst[half*2:])
					} else {
						copy(dst[half*2:], src[half*2:])
					}
					if s == 2 {
						if back {
							copy(src[:half*2], dst[:half*2])
						} else {
							copy(dst[:half*2], src[:half*2])
						}
						continue
					}
					for i := 0; i < half; i++ {
						c, si := T(cs[i]), T(sn[i])
						if back {
							y1, y2 := dst[i], dst[i+half]
							src[i] = y1*c + y2*si
							src[i+half] = y2*c - y1*si
						} else {
							x1, x2 := src[i], src[i+half]
							dst[i] = x1*c - x2*si
							dst[i+half] = x2*c + x1*si
						}
					}
				}
			}
		}
	}
}
