package autograd

import (
	"fmt"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/sinktrain/sinktrain/internal/kernels"
)

// RMSNorm normalises each row of x [N,D] by its root mean square and scales
// it by w [D] (Hugging Face's LlamaRMSNorm, computed in float32 for float32
// graphs):
//
//	r = 1/√(mean_j x_j² + eps),  x̂ = x·r,  y = x̂·w
//
// Backward (g = dy·w):
//
//	dx = r·(g − x̂·mean(g·x̂)),  dw = Σ_rows dy·x̂
func RMSNorm(x, w *G.Node, eps float64) (*G.Node, error) {
	if err := wantDims("RMSNorm", "x", x, 2); err != nil {
		return nil, err
	}
	D := x.Shape()[1]
	if w.Dims() != 1 || w.Shape()[0] != D {
		return nil, fmt.Errorf("autograd: RMSNorm: %s has shape %v, expected [%d]", w.Name(), w.Shape(), D)
	}
	if !(eps > 0) {
		return nil, fmt.Errorf("autograd: RMSNorm: eps = %v, expected > 0", eps)
	}
	return apply(&rmsNormOp{base: base{name: "RMSNorm", arity: 2}, eps: eps}, "rmsnorm("+x.Name()+")", x, w)
}

type rmsNormOp struct {
	base
	likeFirst
	eps float64
	out outBuf // [N, D]
}

// rmsNormGradOp computes dx (or dw when wrtW) of RMSNorm from (x, w, dy).
type rmsNormGradOp struct {
	base
	eps  float64
	wrtW bool
	out  outBuf // [N, D] or [D]
}

var (
	_ G.Op   = (*rmsNormOp)(nil)
	_ G.SDOp = (*rmsNormOp)(nil)
	_ G.Op   = (*rmsNormGradOp)(nil)
)

func (o *rmsNormOp) Type() hm.Type { return fnType(2, 2, 1) }

func (o *rmsNormOp) Do(in ...G.Value) (G.Value, error) {
	out, err := o.output(in, &o.out)
	if err != nil {
		return nil, err
	}
	D := out.Shape()[1]
	return run(out, func(y []float32) {
		kernels.RMSNorm(vals[float32](in[0]), vals[float32](in[1]), y, D, o.eps)
	}, func(y []float64) {
		kernels.RMSNorm(vals[float64](in[0]), vals[float64](in[1]), y, D, o.eps)
	})
}

func (o *rmsNormOp) DiffWRT(int) []bool { return []bool{true, true} }

func (o *rmsNormOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	dx, err := apply(&rmsNormGradOp{base: base{name: "RMSNormGradX", arity: 3}, eps: o.eps}, "drmsnorm.x", in[0], in[1], grad)
	if err != nil {
		return nil, err
	}
	dw, err := apply(&rmsNormGradOp{base: base{name: "RMSNormGradW", arity: 3}, eps: o.eps, wrtW: true}, "drmsnorm.w", in[0], in[1], grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx, dw}, nil
}

func (o *rmsNormGradOp) Type() hm.Type {
	if o.wrtW {
		return fnType(1, 2, 1, 2)
	}
	return fnType(2, 2, 1, 2)
}

func (o *rmsNormGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(in[0])
	if o.wrtW {
		return tensor.Shape{s[1]}, err
	}
	return s.Clone(), err
}

func (o *rmsNormGradOp) Do(in ...G.Value) (G.Value, error) {
	dt, err := o.check(in)
	if err != nil {
		return nil, err
	}
	s, dims := in[0].Shape(), in[0].Shape() // x [N, D]; dx [N, D], dw [D]
	if o.wrtW {
		dims = s[1:]
	}
	return run(o.out.get(dt, dims...), func(d []float32) {
		kernels.RMSNormBackward(vals[float32](in[0]), vals[float32](in[1]), vals[float32](in[2]), d, s[1], o.eps, o.wrtW)
	}, func(d []float64) {
		kernels.RMSNormBackward(vals[float64](in[0]), vals[float64](in[1]), vals[float64](in[2]), d, s[1], o.eps, o.wrtW)
	})
}
