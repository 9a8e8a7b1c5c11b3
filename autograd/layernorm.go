package autograd

import (
	"fmt"
	"math"

	"github.com/chewxy/hm"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
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
		layerNorm32(vals[float32](in[0]), vals[float32](in[1]), vals[float32](in[2]), y, D, o.eps)
	}, func(y []float64) {
		layerNormFwd(vals[float64](in[0]), vals[float64](in[1]), vals[float64](in[2]), y, D, o.eps)
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
		layerNormBwd32(vals[float32](in[0]), vals[float32](in[1]), vals[float32](in[2]), d, s[1], o.eps, o.wrtW)
	}, func(d []float64) {
		layerNormBwd(vals[float64](in[0]), vals[float64](in[1]), vals[float64](in[2]), d, s[1], o.eps, o.wrtW)
	})
}

// rowStats returns the mean and 1/√(var+eps) of one row.
func rowStats[T Float](x []T, eps float64) (mu, r float64) {
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	mu = s / float64(len(x))
	var q float64
	for _, v := range x {
		d := float64(v) - mu
		q += d * d
	}
	return mu, 1 / math.Sqrt(q/float64(len(x))+eps)
}

func layerNormFwd[T Float](x, w, b, y []T, D int, eps float64) {
	for i := 0; i+D <= len(x); i += D {
		xr, yr := x[i:i+D], y[i:i+D]
		mu, r := rowStats(xr, eps)
		m, rr := T(mu), T(r)
		for j := range xr {
			yr[j] = (xr[j]-m)*rr*w[j] + b[j]
		}
	}
}

// layerNormBwd writes dx [N,D] into out, or dw [D] when wrtW.
func layerNormBwd[T Float](x, w, dy, out []T, D int, eps float64, wrtW bool) {
	if wrtW {
		clear(out)
	}
	for i := 0; i+D <= len(x); i += D {
		xr, dyr := x[i:i+D], dy[i:i+D]
		mu, r := rowStats(xr, eps)
		m, rr := T(mu), T(r)
		if wrtW {
			for j := range xr {
				out[j] += dyr[j] * (xr[j] - m) * rr
			}
			continue
		}
		var sg, sgx float64
		for j := range xr {
			g := float64(dyr[j] * w[j])
			sg += g
			sgx += g * float64((xr[j]-m)*rr)
		}
		mg, mgx := T(sg/float64(D)), T(sgx/float64(D))
		dx := out[i : i+D]
		for j := range xr {
			dx[j] = (dyr[j]*w[j] - mg - (xr[j]-m)*rr*mgx) * rr
		}
	}
}
