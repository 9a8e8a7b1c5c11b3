package autograd

import (
	"fmt"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// QKVLayout says how the columns of a fused qkv projection map to heads.
type QKVLayout int

const (
	// QKVPerHead is GPT-NeoX's query_key_value: per head h, [q_h | k_h | v_h]
	// (KVHeads = Heads).
	QKVPerHead QKVLayout = iota
	// QKVBlocks is Llama's q_proj, k_proj and v_proj side by side (one Linear
	// over the [ConcatRows] of the three weights):
	// [q_0 … q_{H−1} | k_0 … k_{KV−1} | v_0 … v_{KV−1}].
	QKVBlocks
)

// RoPE configures [RoPEHeads].
type RoPE struct {
	Heads   int // H
	KVHeads int // KV, dividing H; 0 means H. QKVPerHead needs KV = H.
	// Rot is the number of rotated dims per head (even, at most the head
	// dim); 0 rotates the whole head (Llama, Mistral, Qwen2).
	Rot     int
	Theta   float64 // rope_theta (rotary_emb_base)
	Scaling RoPEScaling
	Layout  QKVLayout
}

// RoPEScaling is Hugging Face's rope_scaling (rope_parameters in
// transformers 5) for the types sinktrain supports; see [RoPEInvFreq].
type RoPEScaling struct {
	Type           string  // "" or "default" (none), "linear", "llama3"
	Factor         float64 // linear, llama3
	LowFreqFactor  float64 // llama3
	HighFreqFactor float64 // llama3
	// OriginalMaxPositions is llama3's original_max_position_embeddings.
	OriginalMaxPositions int
}

// RoPEHeads splits a fused qkv projection into heads and applies rotary
// position embeddings to q and k:
//
//	qkv [B·T, (H+2·KV)·hd], columns as r.Layout says
//	y [B, H+2·KV, T, hd]: per batch row, H query heads, KV key heads, KV value heads
//
// rope rotates the first rot dims of a head with the NeoX/Llama
// rotate_half pairing (i with i+rot/2), at position t = 0…T−1 with the
// inverse frequencies θ_i of [RoPEInvFreq]:
//
//	x'_i = x_i·cos(tθ_i) − x_{i+rot/2}·sin(tθ_i)
//	x'_{i+rot/2} = x_{i+rot/2}·cos(tθ_i) + x_i·sin(tθ_i)      (i < rot/2)
//
// The cos/sin table [T, rot/2] is computed once, here, with float32 angles
// as transformers does. Backward applies the transposed rotation and merges
// the heads back into the qkv layout.
func RoPEHeads(qkv *G.Node, batch int, r RoPE) (*G.Node, error) {
	if err := wantDims("RoPEHeads", "qkv", qkv, 2); err != nil {
		return nil, err
	}
	s := qkv.Shape()
	if batch <= 0 || s[0]%batch != 0 {
		return nil, fmt.Errorf("autograd: RoPEHeads: %d rows are not divisible by batch %d", s[0], batch)
	}
	H, KV := r.Heads, r.KVHeads
	if KV == 0 {
		KV = H
	}
	if H <= 0 || KV <= 0 || H%KV != 0 {
		return nil, fmt.Errorf("autograd: RoPEHeads: %d kv heads do not divide %d heads", KV, H)
	}
	switch r.Layout {
	case QKVPerHead:
		if KV != H {
			return nil, fmt.Errorf("autograd: RoPEHeads: the per-head qkv layout has as many kv heads as heads, got %d and %d", KV, H)
		}
	case QKVBlocks:
	default:
		return nil, fmt.Errorf("autograd: RoPEHeads: unknown qkv layout %d", r.Layout)
	}
	S := H + 2*KV
	if s[1]%S != 0 {
		return nil, fmt.Errorf("autograd: RoPEHeads: width %d is not (heads %d + 2·kv heads %d)·head_dim", s[1], H, KV)
	}
	hd := s[1] / S
	rot := r.Rot
	if rot == 0 {
		rot = hd
	}
	if rot < 0 || rot > hd || rot%2 != 0 {
		return nil, fmt.Errorf("autograd: RoPEHeads: rotary dims %d, expected an even number in [2, %d]", rot, hd)
	}
	inv, err := RoPEInvFreq(rot, r.Theta, r.Scaling)
	if err != nil {
		return nil, fmt.Errorf("autograd: RoPEHeads: %w", err)
	}
	T := s[0] / batch
	sh := &ropeShape{B: batch, T: T, H: H, KV: KV, hd: hd, rot: rot, layout: r.Layout}
	sh.cos, sh.sin = ropeTable(T, inv)
	return apply(&ropeOp{base: base{name: "RoPEHeads", arity: 1}, r: sh}, "rope("+qkv.Name()+")", qkv)
}

// RoPEInvFreq returns the rot/2 inverse frequencies of rotary embeddings
// over rot dims, in float32 as transformers computes them:
//
//	default: θ_i = 1/theta^(2i/rot)
//	linear:  θ_i / factor
//	llama3:  with λ_i = 2π/θ_i, L = original_max_position_embeddings:
//	         θ_i if λ_i < L/high_freq_factor; θ_i/factor if λ_i > L/low_freq_factor;
//	         else (1−s)·θ_i/factor + s·θ_i, s = (L/λ_i − low_freq_factor)/(high_freq_factor − low_freq_factor)
//
// (transformers' _compute_default_rope_parameters, _linear_scaling_ and
// _llama3_parameters; their attention factor is 1).
func RoPEInvFreq(rot int, theta float64, s RoPEScaling) ([]float32, error) {
	if rot < 2 || rot%2 != 0 {
		return nil, fmt.Errorf("rotary dims %d, expected an even number >= 2", rot)
	}
	if !(theta > 0) || math.IsInf(theta, 0) {
		return nil, fmt.Errorf("rope_theta = %v, expected a finite value > 0", theta)
	}
	inv := make([]float32, rot/2)
	for i := range inv {
		inv[i] = 1 / float32(math.Pow(theta, float64(float32(2*i)/float32(rot))))
	}
	positive := func(name string, v float64) error {
		if !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("rope_scaling.%s = %v, expected a finite value > 0", name, v)
		}
		return nil
	}
	switch s.Type {
	case "", "default":
	case "linear":
		if err := positive("factor", s.Factor); err != nil {
			return nil, err
		}
		for i := range inv {
			inv[i] /= float32(s.Factor)
		}
	case "llama3":
		for _, p := range []struct {
			name string
			v    float64
		}{{"factor", s.Factor}, {"low_freq_factor", s.LowFreqFactor}, {"high_freq_factor", s.HighFreqFactor},
			{"original_max_position_embeddings", float64(s.OriginalMaxPositions)}} {
			if err := positive(p.name, p.v); err != nil {
				return nil, err
			}
		}
		if s.HighFreqFactor <= s.LowFreqFactor {
			return nil, fmt.Errorf("rope_scaling.high_freq_factor = %v, expected more than low_freq_factor %v", s.HighFreqFactor, s.LowFreqFactor)
		}
		L := float64(s.OriginalMaxPositions)
		lowWave, highWave := float32(L/s.LowFreqFactor), float32(L/s.HighFreqFactor)
		factor, low := float32(s.Factor), float32(s.LowFreqFactor)
		span := float32(s.HighFreqFactor - s.LowFreqFactor)
		for i, f := range inv {
			wave := (1 / f) * float32(2*math.Pi) // torch: 2π / t is reciprocal(t)·2π
			switch {
			case wave < highWave:
			case wave > lowWave:
				inv[i] = f / factor
			default:
				sm := ((1/wave)*float32(L) - low) / span
				inv[i] = (1-sm)*f/factor + sm*f
			}
		}
	default:
		return nil, fmt.Errorf("rope_scaling.rope_type %q is not supported, expected \"default\", \"linear\" or \"llama3\"", s.Type)
	}
	return inv, nil
}

// ropeShape holds the geometry and the cos/sin tables [T, rot/2].
type ropeShape struct {
	B, T, H, KV, hd, rot int
	layout               QKVLayout
	cos, sin             []float64 // [T, rot/2]
}

// heads returns H + 2·KV, the number of heads of the output.
func (r *ropeShape) heads() int { return r.H + 2*r.KV }

// col returns the first qkv column of output head j.
func (r *ropeShape) col(j int) int {
	if r.layout == QKVPerHead {
		return (j%r.H)*3*r.hd + (j/r.H)*r.hd
	}
	return j * r.hd
}

// ropeTable returns cos and sin of t·θ_i, the angle rounded to float32
// as transformers' float32 matmul of inv_freq and positions.
func ropeTable(T int, inv []float32) (cos, sin []float64) {
	half := len(inv)
	cos, sin = make([]float64, T*half), make([]float64, T*half)
	for i, f := range inv {
		for t := 0; t < T; t++ {
			a := float64(float32(t) * f)
			cos[t*half+i], sin[t*half+i] = math.Cos(a), math.Sin(a)
		}
	}
	return cos, sin
}

type ropeOp struct {
	base
	r   *ropeShape
	out outBuf // [B, H+2KV, T, hd]
}

// ropeGradOp maps dy [B,H+2KV,T,hd] back to dqkv [B·T, (H+2KV)·hd].
type ropeGradOp struct {
	base
	r   *ropeShape
	out outBuf // [B·T, (H+2KV)·hd]
}

var (
	_ G.Op   = (*ropeOp)(nil)
	_ G.SDOp = (*ropeOp)(nil)
	_ G.Op   = (*ropeGradOp)(nil)
)

func (o *ropeOp) Type() hm.Type { return fnType(4, 2) }

func (o *ropeOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	r := o.r
	return tensor.Shape{r.B, r.heads(), r.T, r.hd}, nil
}

func (o *ropeOp) Do(in ...G.Value) (G.Value, error) {
	r := o.r
	out, err := o.output(in, &o.out, r.B, r.heads(), r.T, r.hd)
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

func (o *ropeGradOp) Type() hm.Type { return fnType(2, 4) }

func (o *ropeGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	r := o.r
	return tensor.Shape{r.B * r.T, r.heads() * r.hd}, nil
}

func (o *ropeGradOp) Do(in ...G.Value) (G.Value, error) {
	r := o.r
	out, err := o.output(in, &o.out, r.B*r.T, r.heads()*r.hd)
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
	B, Tn, hd, half := r.B, r.T, r.hd, r.rot/2
	S := r.heads()
	W := S * hd
	for b := 0; b < B; b++ {
		for t := 0; t < Tn; t++ {
			row := qkv[(b*Tn+t)*W : (b*Tn+t+1)*W]
			cs, sn := r.cos[t*half:(t+1)*half], r.sin[t*half:(t+1)*half]
			for j := 0; j < S; j++ {
				src := row[r.col(j) : r.col(j)+hd]
				dst := heads[((b*S+j)*Tn+t)*hd : ((b*S+j)*Tn+t+1)*hd]
				if back {
					copy(src[half*2:], dst[half*2:])
				} else {
					copy(dst[half*2:], src[half*2:])
				}
				if j >= r.H+r.KV { // v: no rotation
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
