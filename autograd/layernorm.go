package autograd

import (
	"fmt"

	"github.com/chewxy/hm"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/sinktrain/sinktrain/internal/kernels"
)

// LayerNorm normalises each row of x [N,D] and applies the affine map:
//
//	μ = mean_j x_j,  σ² = mean_j (x_j − μ)²,  x̂ = (x − μ)/√(σ² + eps)
//	y = x̂·w + b                                  w, b: [D]
//
// Backward (g = dy·w):
//
//	dx = (g − mean(g) − x̂·mean(g·x̂)) / √(σ² + eps)
//	dw = Σ_rows dy·x̂,  db = Σ_rows dy
func LayerNorm(x, w, b *G.Node, eps float64) (*G.Node, error) {
	if err := wantDims("LayerNorm", "x", x, 2); err != nil {
		return nil, err
	}
	D := x.Shape()[1]
	for _, p := range []*G.Node{w, b} {
		if p.Dims() != 1 || p.Shape()[0] != D {
			return nil, fmt.Errorf("autograd: LayerNorm: %s has shape %v, expected [%d]", p.Name(), p.Shape(), D)
		}
	}
	if !(eps > 0) {
		return nil, fmt.Errorf("autograd: LayerNorm: eps = %v, expected > 0", eps)
	}
	return apply(&layerNormOp{base: base{name: "LayerNorm", arity: 3}, eps: eps}, "layernorm("+x.Name()+")", x, w, b)
}

type layerNormOp struct {
	base
	likeFirst
	eps float64
	out outBuf // [N, D]
}

var (
	_ G.Op   = (*layerNormOp)(nil)
	_ G.SDOp = (*layerNormOp)(nil)
	_ G.Op   = (*layerNormGradOp)(nil)
)

func (o *layerNormOp) Type() hm.Type { return fnType(2, 2, 1, 1) }

func (o *layerNormOp) Do(in ...G.Value) (G.Value, error) {
	out, err := o.output(in, &o.out)
	if err != nil {
		return nil, err
	}
	D := out.Shape()[1]
	return run(out, func(y []float32) {
		kernels.LayerNorm(vals[float32](in[0]), vals[float32](in[1]), vals[float32](in[2]), y, D, o.eps)
	}, func(y []float64) {
		kernels.LayerNorm(vals[float64](in[0]), vals[float64](in[1]), vals[float64](in[2]), y, D, o.eps)
	})
}

func (o *layerNormOp) DiffWRT(int) []bool { return []bool{true, true, true} }

func (o *layerNormOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	dx, err := apply(&layerNormGradOp{base: base{name: "LayerNormGradX", arity: 3}, eps: o.eps}, "dlayernorm.x", in[0], in[1], grad)
	if err != nil {
		return nil, err
	}
	dw, err := apply(&layerNormGradOp{base: base{name: "LayerNormGradW", arity: 3}, eps: o.eps, wrtW: true}, "dlayernorm.w", in[0], in[1], grad)
	if err != nil {
		return nil, err
	}
	db, err := SumRows(grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx, dw, db}, nil
}

// layerNormGradOp computes dx (or dw when wrtW) of LayerNorm from (x, w, dy).
type layerNormGradOp struct {
	base
	eps  float64
	wrtW bool
	out  outBuf // [N, D] or [D]
}

func (o *layerNormGradOp) Type() hm.Type {
	if o.wrtW {
		return fnType(1, 2, 1, 2)
	}
	return fnType(2, 2, 1, 2)
}

func (o *layerNormGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(in[0])
	if o.wrtW {
		return tensor.Shape{s[1]}, err
	}
	return s.Clone(), err
}

func (o *layerNormGradOp) Do(in ...G.Value) (G.Value, error) {
	dt, err := o.check(in)
	if err != nil {
		return nil, err
	}
	s, dims := in[0].Shape(), in[0].Shape() // x [N, D]; dx [N, D], dw [D]
	if o.wrtW {
		dims = s[1:]
	}
	return run(o.out.get(dt, dims...), func(d []float32) {
		kernels.LayerNormBackward(vals[float32](in[0]), vals[float32](in[1]), vals[float32](in[2]), d, s[1], o.eps, o.wrtW)
	}, func(d []float64) {
		kernels.LayerNormBackward(vals[float64](in[0]), vals[float64](in[1]), vals[float64](in[2]), d, s[1], o.eps, o.wrtW)
	})
}
