package autograd

import (
	"fmt"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/sinktrain/sinktrain/internal/kernels"
)

// AddBias adds a bias row to every row of x:
//
//	y[i,f] = x[i,f] + b[f]          x: [N,F], b: [F]
//
// Backward: dx = dy, db = Σ_i dy[i,:] (see [SumRows]).
func AddBias(x, b *G.Node) (*G.Node, error) {
	if err := wantDims("AddBias", "x", x, 2); err != nil {
		return nil, err
	}
	if b.Dims() != 1 || b.Shape()[0] != x.Shape()[1] {
		return nil, fmt.Errorf("autograd: AddBias: bias %s has shape %v, expected [%d]", b.Name(), b.Shape(), x.Shape()[1])
	}
	return apply(&addBiasOp{base: base{name: "AddBias", arity: 2}}, "addbias("+x.Name()+")", x, b)
}

// SumRows sums a matrix over its rows: y[f] = Σ_i x[i,f] (the bias
// gradient). Not differentiated further.
func SumRows(x *G.Node) (*G.Node, error) {
	if err := wantDims("SumRows", "x", x, 2); err != nil {
		return nil, err
	}
	return apply(&sumRowsOp{base: base{name: "SumRows", arity: 1}}, "sumrows("+x.Name()+")", x)
}

type addBiasOp struct {
	base
	likeFirst
	out outBuf // [N, F]
}

type sumRowsOp struct {
	base
	out  outBuf // [F]
	ones any    // []float64 [N] of 1: the float64 sum is one gemm, ones·x
}

var (
	_ G.Op   = (*addBiasOp)(nil)
	_ G.SDOp = (*addBiasOp)(nil)
	_ G.Op   = (*sumRowsOp)(nil)
)

func (o *addBiasOp) Type() hm.Type { return fnType(2, 2, 1) }

func (o *addBiasOp) Do(in ...G.Value) (G.Value, error) {
	out, err := o.output(in, &o.out)
	if err != nil {
		return nil, err
	}
	return run(out, func(y []float32) { addBias(vals[float32](in[0]), vals[float32](in[1]), y) },
		func(y []float64) { addBias(vals[float64](in[0]), vals[float64](in[1]), y) })
}

func (o *addBiasOp) DiffWRT(int) []bool { return []bool{true, true} }

func (o *addBiasOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	db, err := SumRows(grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{grad, db}, nil
}

func addBias[T Float](x, b, y []T) {
	F := len(b)
	for i := 0; i+F <= len(x); i += F {
		xr, yr := x[i:i+F], y[i:i+F]
		for j := range b {
			yr[j] = xr[j] + b[j]
		}
	}
}

func (o *sumRowsOp) Type() hm.Type { return fnType(1, 2) }

func (o *sumRowsOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(in[0])
	return tensor.Shape{s[1]}, err
}

func (o *sumRowsOp) Do(in ...G.Value) (G.Value, error) {
	dt, err := o.check(in)
	if err != nil {
		return nil, err
	}
	N, F := in[0].Shape()[0], in[0].Shape()[1]
	return run(o.out.get(dt, F), func(y []float32) { sumRows(vals[float32](in[0]), y, nil) },
		func(y []float64) { sumRows(vals[float64](in[0]), y, onesOf[float64](&o.ones, N)) })
}

// onesOf returns *p as a []T of n ones, (re)filling it when needed.
func onesOf[T Float](p *any, n int) []T {
	if b, ok := (*p).([]T); ok && len(b) == n {
		return b
	}
	b := make([]T, n)
	for i := range b {
		b[i] = 1
	}
	*p = b
	return b
}

// sumRows computes y = ones·x (x [N,F]): a column-sum kernel for float32,
// one gemm for float64.
func sumRows[T Float](x, y, ones []T) {
	if x32, ok := any(x).([]float32); ok {
		kernels.ColSum(x32, any(y).([]float32))
		return
	}
	F := len(y)
	gemm(false, false, 1, F, len(ones), 1, ones, len(ones), x, F, 0, y, F)
}
