package autograd

import (
	"fmt"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/sinktrain/sinktrain/internal/kernels"
)

// Normalizer selects how attention scores become probabilities.
type Normalizer int

const (
	// NormSoftmax: p_j = exp(s_j) / Σ_k exp(s_k).
	NormSoftmax Normalizer = iota
	// NormSoftmax1 adds a zero logit to the denominator:
	// p_j = exp(s_j) / (1 + Σ_k exp(s_k)).
	NormSoftmax1
	// NormSinkLogit adds a learned logit b_h per head:
	// p_j = exp(s_j) / (exp(b_h) + Σ_k exp(s_k)).
	NormSinkLogit
)

// CausalAttention is fused causal self-attention over split heads, with
// grouped-query attention (kvHeads KV dividing the H query heads: query head
// h reads kv head h/(H/KV); KV = H is multi-head attention), merging the
// heads on output:
//
//	heads [B, H+2·KV, T, hd] (per batch row: H q heads, KV k heads, KV v heads; see RoPEHeads) → ctx [B·T, H·hd]
//	s_ij = q_i·k_j / √hd  (j ≤ i),  p_ij = normalised s (see Normalizer)
//	ctx[b·T+i, h·hd:(h+1)·hd] = Σ_j p_ij v_j
//
// sink is the [H] sink-logit parameter for NormSinkLogit and must be nil
// otherwise. Backward (per batch and query head, D_i = Σ_j p_ij (dO_i·v_j) = dO_i·O_i):
//
//	dv = pᵀ·dO,  ds_ij = p_ij (dO_i·v_j − D_i),  dq = ds·k/√hd,  dk = dsᵀ·q/√hd
//	db_h = −Σ_{b,i} p_sink(b,h,i)·D_i,  p_sink = exp(b_h)/denominator
//
// dk and dv of a kv head sum those of the H/KV query heads sharing it.
// The probabilities of the last run stay readable with [AttentionProbs].
func CausalAttention(heads *G.Node, kvHeads int, sink *G.Node, norm Normalizer) (*G.Node, error) {
	if err := wantDims("CausalAttention", "heads", heads, 4); err != nil {
		return nil, err
	}
	s := heads.Shape()
	H := s[1] - 2*kvHeads
	if kvHeads <= 0 || H <= 0 || H%kvHeads != 0 {
		return nil, fmt.Errorf("autograd: CausalAttention: heads %s has shape %v, expected [B, H+2·%d, T, hd] with %d kv heads dividing H", heads.Name(), s, kvHeads, kvHeads)
	}
	a := &attnShape{B: s[0], H: H, KV: kvHeads, T: s[2], hd: s[3], norm: norm}
	children := G.Nodes{heads}
	switch norm {
	case NormSoftmax, NormSoftmax1:
		if sink != nil {
			return nil, fmt.Errorf("autograd: CausalAttention: a sink logit is given but the normaliser has none")
		}
	case NormSinkLogit:
		if sink == nil || sink.Dims() != 1 || sink.Shape()[0] != a.H {
			return nil, fmt.Errorf("autograd: CausalAttention: sink_logit needs a sink logit of shape [%d]", a.H)
		}
		children = append(children, sink)
	default:
		return nil, fmt.Errorf("autograd: CausalAttention: unknown normaliser %d", norm)
	}
	return apply(&attentionOp{base: base{name: "CausalAttention", arity: len(children)}, a: a}, "attention("+heads.Name()+")", children...)
}

// AttentionProbs returns the attention probabilities [B,H,T,T] of the last
// run of a node made by CausalAttention (owned by the op, overwritten by the
// next run; masked entries are 0), or nil if n is not such a node or has not
// run. T is []float32 or []float64, the graph's dtype.
func AttentionProbs[T Float](n *G.Node) []T {
	o, ok := n.Op().(*attentionOp)
	if !ok {
		return nil
	}
	p, _ := o.a.probs.([]T)
	return p
}

// attnShape is the geometry and the forward state the backward reads.
type attnShape struct {
	B, H, KV, T, hd int
	norm            Normalizer
	probs           any // []T [B,H,T,T] probabilities of the last forward
	psink           any // []T [B,H,T] denominator share of the sink (0 for softmax)
}

// offsets returns where the q, k and v blocks [T, hd] that query head h of
// batch row b reads start in the heads tensor.
func (a *attnShape) offsets(b, h int) (q, k, v int) {
	S, blk := a.H+2*a.KV, a.T*a.hd
	g := h / (a.H / a.KV)
	row := b * S
	return (row + h) * blk, (row + a.H + g) * blk, (row + a.H + a.KV + g) * blk
}

type attentionOp struct {
	base
	a   *attnShape
	out outBuf // [B·T, H·hd]
}

// attentionGradOp computes dheads [B,H+2KV,T,hd] from (heads, dctx).
type attentionGradOp struct {
	base
	a       *attnShape
	scratch any    // []T [T,T]
	out     outBuf // [B,H+2KV,T,hd]
}

// sinkGradOp computes db [H] from (ctx, dctx).
type sinkGradOp struct {
	base
	a   *attnShape
	out outBuf // [H]
}

var (
	_ G.Op   = (*attentionOp)(nil)
	_ G.SDOp = (*attentionOp)(nil)
	_ G.Op   = (*attentionGradOp)(nil)
	_ G.Op   = (*sinkGradOp)(nil)
)

func (o *attentionOp) Type() hm.Type {
	if o.arity == 2 {
		return fnType(2, 4, 1)
	}
	return fnType(2, 4)
}

func (o *attentionOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.a.B * o.a.T, o.a.H * o.a.hd}, nil
}

func (o *attentionOp) Do(in ...G.Value) (G.Value, error) {
	a := o.a
	out, err := o.output(in, &o.out, a.B*a.T, a.H*a.hd)
	if err != nil {
		return nil, err
	}
	p := o.par()
	return run(out, func(y []float32) { attentionFwd(a, in, y, p) }, func(y []float64) { attentionFwd(a, in, y, p) })
}

// buf returns *p as a []T of length n, reallocating when needed.
func buf[T Float](p *any, n int) []T {
	if b, ok := (*p).([]T); ok && len(b) == n {
		return b
	}
	b := kernels.Alloc[T](n)
	*p = b
	return b
}

// attnBlock is the row-block size of the causal tiling: scores, context
// and gradients are computed block by block, each block only against the
// keys it can see (columns < its last row + 1), so the masked upper triangle
// is skipped (with T = 4 blocks, 10/16 of the full products).
const attnBlock = 64

// blocks calls f(i0, i1) for the row blocks of a length-T sequence.
func blocks(T int, f func(i0, i1 int)) {
	for i0 := 0; i0 < T; i0 += attnBlock {
		f(i0, min(i0+attnBlock, T))
	}
}

func attentionFwd[T Float](a *attnShape, in []G.Value, ctx []T, par int) {
	B, H, Tn, hd := a.B, a.H, a.T, a.hd
	D := H * hd
	x := vals[T](in[0])
	probs := buf[T](&a.probs, B*H*Tn*Tn) // entries above the diagonal stay 0
	psink := buf[T](&a.psink, B*H*Tn)
	var sinks []T
	if len(in) == 2 {
		sinks = vals[T](in[1])
	}
	scale := T(1 / math.Sqrt(float64(hd)))
	blk := Tn * hd
	hasExtra := a.norm != NormSoftmax
	// Each (batch row, head) writes its own probabilities and context columns.
	parallel(par, B*H, 1, func(_, lo, hi int) {
		for bh := lo; bh < hi; bh++ {
			b, h := bh/H, bh%H
			qo, ko, vo := a.offsets(b, h)
			q, k, v := x[qo:qo+blk], x[ko:ko+blk], x[vo:vo+blk]
			p := probs[bh*Tn*Tn : (bh+1)*Tn*Tn]
			var extra T
			if sinks != nil {
				extra = sinks[h]
			}
			blocks(Tn, func(i0, i1 int) {
				gemm(false, true, i1-i0, i1, hd, scale, q[i0*hd:], hd, k, hd, 0, p[i0*Tn:], Tn)
				kernels.SoftmaxCausal(p[i0*Tn:], Tn, i0, i1-i0, i1, extra, hasExtra, psink[bh*Tn+i0:bh*Tn+i1])
				gemm(false, false, i1-i0, hd, i1, 1, p[i0*Tn:], Tn, v, hd, 0, ctx[(b*Tn+i0)*D+h*hd:], D)
			})
		}
	})
}

func (o *attentionOp) DiffWRT(n int) []bool { return allInputs(n) }

func (o *attentionOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	dh, err := apply(&attentionGradOp{base: base{name: "CausalAttentionGrad", arity: 2}, a: o.a}, "dattention", in[0], grad)
	if err != nil {
		return nil, err
	}
	res := G.Nodes{dh}
	if len(in) == 2 {
		ds, err := apply(&sinkGradOp{base: base{name: "SinkLogitGrad", arity: 2}, a: o.a}, "dsinklogit", out, grad)
		if err != nil {
			return nil, err
		}
		res = append(res, ds)
	}
	return res, nil
}

func (o *attentionGradOp) Type() hm.Type { return fnType(4, 4, 2) }

func (o *attentionGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	a := o.a
	return tensor.Shape{a.B, a.H + 2*a.KV, a.T, a.hd}, nil
}

func (o *attentionGradOp) Do(in ...G.Value) (G.Value, error) {
	a := o.a
	out, err := o.output(in, &o.out, a.B, a.H+2*a.KV, a.T, a.hd)
	if err != nil {
		return nil, err
	}
	p := max(1, min(o.par(), a.B*a.KV))
	return runErr(out, func(dx []float32) error {
		return attentionBwd(a, vals[float32](in[0]), vals[float32](in[1]), dx, buf[float32](&o.scratch, p*a.T*a.T), p)
	}, func(dx []float64) error {
		return attentionBwd(a, vals[float64](in[0]), vals[float64](in[1]), dx, buf[float64](&o.scratch, p*a.T*a.T), p)
	})
}

// attentionBwd computes dx on par goroutines, each over whole kv groups
// (its query heads add to the group's dk and dv in order) with its own
// [T, T] part of scratch.
func attentionBwd[T Float](a *attnShape, x, dctx, dx, scratch []T, par int) error {
	B, H, Tn, hd := a.B, a.H, a.T, a.hd
	D := H * hd
	probs, ok := a.probs.([]T)
	if !ok {
		return fmt.Errorf("autograd: CausalAttentionGrad ran before its forward")
	}
	scale := T(1 / math.Sqrt(float64(hd)))
	blk := Tn * hd
	rep := H / a.KV
	parallel(par, B*a.KV, 1, func(part, lo, hi int) {
		ds := scratch[part*Tn*Tn : (part+1)*Tn*Tn]
		for bg := lo; bg < hi; bg++ {
			b := bg / a.KV
			for h := bg % a.KV * rep; h < (bg%a.KV+1)*rep; h++ {
				bh := b*H + h
				qo, ko, vo := a.offsets(b, h)
				q, k, v := x[qo:qo+blk], x[ko:ko+blk], x[vo:vo+blk]
				dq, dk, dv := dx[qo:qo+blk], dx[ko:ko+blk], dx[vo:vo+blk]
				p := probs[bh*Tn*Tn : (bh+1)*Tn*Tn]
				dO := dctx[b*Tn*D+h*hd:]
				// The first query head of a kv group writes its dk and dv, the
				// others add to them.
				var acc T
				if h%rep != 0 {
					acc = 1
				}
				// dv[j0:j1] = p[j0:T, j0:j1]ᵀ·dO[j0:T] (rows i < j0 have p_ij = 0).
				blocks(Tn, func(j0, j1 int) {
					gemm(true, false, j1-j0, hd, Tn-j0, 1, p[j0*Tn+j0:], Tn, dO[j0*D:], D, acc, dv[j0*hd:], hd)
				})
				// ds over the visible columns of each row block, then dq.
				blocks(Tn, func(i0, i1 int) {
					gemm(false, true, i1-i0, i1, hd, 1, dO[i0*D:], D, v, hd, 0, ds[i0*Tn:], Tn)
					kernels.AttentionDS(p[i0*Tn:], ds[i0*Tn:], Tn, i0, i1-i0, i1, scale)
					gemm(false, false, i1-i0, hd, i1, 1, ds[i0*Tn:], Tn, k, hd, 0, dq[i0*hd:], hd)
				})
				// dk[j0:j1] = ds[j0:T, j0:j1]ᵀ·q[j0:T].
				blocks(Tn, func(j0, j1 int) {
					gemm(true, false, j1-j0, hd, Tn-j0, 1, ds[j0*Tn+j0:], Tn, q[j0*hd:], hd, acc, dk[j0*hd:], hd)
				})
			}
		}
	})
	return nil
}

func (o *sinkGradOp) Type() hm.Type { return fnType(1, 2, 2) }

func (o *sinkGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.a.H}, nil
}

func (o *sinkGradOp) Do(in ...G.Value) (G.Value, error) {
	out, err := o.output(in, &o.out, o.a.H)
	if err != nil {
		return nil, err
	}
	return runErr(out, func(db []float32) error { return sinkBwd(o.a, vals[float32](in[0]), vals[float32](in[1]), db) },
		func(db []float64) error { return sinkBwd(o.a, vals[float64](in[0]), vals[float64](in[1]), db) })
}

func sinkBwd[T Float](a *attnShape, ctx, dctx, db []T) error {
	psink, ok := a.psink.([]T)
	if !ok {
		return fmt.Errorf("autograd: SinkLogitGrad ran before its forward")
	}
	B, H, Tn, hd := a.B, a.H, a.T, a.hd
	D := H * hd
	clear(db)
	for b := 0; b < B; b++ {
		for i := 0; i < Tn; i++ {
			row := (b*Tn + i) * D
			for h := 0; h < H; h++ {
				var di T
				o, do := ctx[row+h*hd:row+(h+1)*hd], dctx[row+h*hd:row+(h+1)*hd]
				for j := range o {
					di += o[j] * do[j]
				}
				db[h] -= psink[(b*H+h)*Tn+i] * di
			}
		}
	}
	return nil
}
