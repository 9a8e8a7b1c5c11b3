package autograd

import (
	"fmt"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/sinktrain/sinktrain/internal/kernels"
)

// QKVLayout says how the columns of a fused qkv projection map to heads
// (model.QKVLayout's names).
type QKVLayout int

const (
	// QKVPerHead is GPT-NeoX's query_key_value: per head h, [q_h | k_h | v_h]
	// (KVHeads = Heads).
	QKVPerHead QKVLayout = iota
	// QKVBlocked is [q_0 … q_{H−1} | k_0 … k_{KV−1} | v_0 … v_{KV−1}]: MPT's
	// Wqkv, and Llama's q_proj, k_proj and v_proj as one Linear over the
	// [ConcatRows] of the three weights.
	QKVBlocked
)

// RoPE configures [RoPEHeads].
type RoPE struct {
	Heads   int // H
	KVHeads int // KV, dividing H; 0 means H. QKVPerHead needs KV = H.
	// InvFreq are the inverse frequencies θ_i of the rotation
	// (model.Config.InvFreq: float32 values, rope_scaling applied); the first
	// rot = 2·len(InvFreq) dims of each head rotate (rot ≤ head dim).
	InvFreq []float64
	Layout  QKVLayout
}

// RoPEHeads splits a fused qkv projection into heads and applies rotary
// position embeddings to q and k:
//
//	qkv [B·T, (H+2·KV)·hd], columns as r.Layout says
//	y [B, H+2·KV, T, hd]: per batch row, H query heads, KV key heads, KV value heads
//
// rope rotates the first rot dims of a head with the NeoX/Llama
// rotate_half pairing (i with i+rot/2) at position t = 0…T−1:
//
//	x'_i = x_i·cos(tθ_i) − x_{i+rot/2}·sin(tθ_i)
//	x'_{i+rot/2} = x_{i+rot/2}·cos(tθ_i) + x_i·sin(tθ_i)      (i < rot/2)
//
// The cos/sin table [T, rot/2] is computed once, here, from float32 angles
// tθ_i as transformers' float32 product of positions and inv_freq. Backward
// applies the transposed rotation and merges the heads back into the qkv
// layout. Both directions are [kernels.RoPE].
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
	case QKVBlocked:
	default:
		return nil, fmt.Errorf("autograd: RoPEHeads: unknown qkv layout %d", r.Layout)
	}
	S := H + 2*KV
	if s[1]%S != 0 {
		return nil, fmt.Errorf("autograd: RoPEHeads: width %d is not (heads %d + 2·kv heads %d)·head_dim", s[1], H, KV)
	}
	hd := s[1] / S
	rot := 2 * len(r.InvFreq)
	if rot == 0 || rot > hd {
		return nil, fmt.Errorf("autograd: RoPEHeads: %d inverse frequencies rotate %d dims, expected 2 to head_dim %d", len(r.InvFreq), rot, hd)
	}
	for i, f := range r.InvFreq {
		if !(f > 0) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("autograd: RoPEHeads: inverse frequency %d is %v, expected a finite value > 0", i, f)
		}
	}
	T := s[0] / batch
	sh := &ropeShape{B: batch, T: T, H: H, KV: KV, hd: hd}
	sh.cos, sh.sin = ropeTable(T, r.InvFreq)
	sh.cos32, sh.sin32 = to32(sh.cos), to32(sh.sin)
	cols := make([]int, S)
	for j := range cols {
		cols[j] = j * hd
		if r.Layout == QKVPerHead {
			cols[j] = (j%H)*3*hd + (j/H)*hd
		}
	}
	sh.move = kernels.RoPEHeads{B: batch, T: T, HeadDim: hd, Width: s[1], Cols: cols, Rotated: H + KV}
	return apply(&ropeOp{base: base{name: "RoPEHeads", arity: 1}, r: sh}, "rope("+qkv.Name()+")", qkv)
}

// ropeShape holds the geometry and the cos/sin tables [T, rot/2].
type ropeShape struct {
	B, T, H, KV, hd int
	cos, sin        []float64 // [T, rot/2]
	cos32, sin32    []float32 // the same, rounded
	move            kernels.RoPEHeads
}

// heads returns H + 2·KV, the number of heads of the output.
func (r *ropeShape) heads() int { return r.H + 2*r.KV }

// ropeRun runs the move in the precision of T (float32: the rounded tables).
func ropeRun[T Float](r *ropeShape, qkv, heads []T, back bool) {
	if _, ok := any(qkv).([]float32); ok {
		kernels.RoPE(qkv, heads, any(r.cos32).([]T), any(r.sin32).([]T), r.move, back)
		return
	}
	kernels.RoPE(qkv, heads, any(r.cos).([]T), any(r.sin).([]T), r.move, back)
}

func to32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

// ropeTable returns cos and sin of t·θ_i, the angle rounded to float32
// as transformers' float32 matmul of inv_freq and positions.
func ropeTable(T int, inv []float64) (cos, sin []float64) {
	half := len(inv)
	cos, sin = make([]float64, T*half), make([]float64, T*half)
	for i, f := range inv {
		for t := 0; t < T; t++ {
			a := float64(float32(t) * float32(f))
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
	return run(out, func(y []float32) { ropeRun(r, vals[float32](in[0]), y, false) },
		func(y []float64) { ropeRun(r, vals[float64](in[0]), y, false) })
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
	return run(out, func(dx []float32) { ropeRun(r, dx, vals[float32](in[0]), true) },
		func(dx []float64) { ropeRun(r, dx, vals[float64](in[0]), true) })
}
