package autograd

import (
	"fmt"
	"strings"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ConcatRows stacks tensors along their first axis, the way one Linear runs
// several Hugging Face projections of the same input (Llama's q/k/v_proj,
// gate/up_proj) as one matrix product:
//
//	y = [x₀; x₁; …]      xᵢ: [Rᵢ, C] (weights) or [Rᵢ] (biases), y: [ΣRᵢ, C] or [ΣRᵢ]
//
// Backward: dxᵢ = the rows of dy that xᵢ filled (a copy).
func ConcatRows(xs ...*G.Node) (*G.Node, error) {
	if len(xs) < 2 {
		return nil, fmt.Errorf("autograd: ConcatRows: %d inputs, expected at least 2", len(xs))
	}
	dims := xs[0].Dims()
	if dims != 1 && dims != 2 {
		return nil, fmt.Errorf("autograd: ConcatRows: %s has shape %v, expected 1 or 2 dims", xs[0].Name(), xs[0].Shape())
	}
	rows, names := 0, make([]string, len(xs))
	for i, x := range xs {
		if x.Dims() != dims || (dims == 2 && x.Shape()[1] != xs[0].Shape()[1]) {
			return nil, fmt.Errorf("autograd: ConcatRows: %s has shape %v, expected the dims and width of %s %v", x.Name(), x.Shape(), xs[0].Name(), xs[0].Shape())
		}
		rows += x.Shape()[0]
		names[i] = x.Name()
	}
	shape := tensor.Shape{rows}
	if dims == 2 {
		shape = append(shape, xs[0].Shape()[1])
	}
	return apply(&concatOp{base: base{name: "ConcatRows", arity: len(xs)}, shape: shape}, "concat("+strings.Join(names, ",")+")", xs...)
}

type concatOp struct {
	base
	shape tensor.Shape // of y
	out   outBuf
}

// rowsOp copies the rows [at, at+shape[0]) of its input (the gradient of
// one ConcatRows input).
type rowsOp struct {
	base
	at    int          // first row
	shape tensor.Shape // of the output
	out   outBuf
}

var (
	_ G.Op   = (*concatOp)(nil)
	_ G.SDOp = (*concatOp)(nil)
	_ G.Op   = (*rowsOp)(nil)
)

func (o *concatOp) Type() hm.Type {
	in := make([]int, o.arity)
	for i := range in {
		in[i] = len(o.shape)
	}
	return fnType(len(o.shape), in...)
}

func (o *concatOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.shape.Clone(), nil }

func (o *concatOp) Do(in ...G.Value) (G.Value, error) {
	out, err := o.output(in, &o.out, o.shape...)
	if err != nil {
		return nil, err
	}
	return run(out, func(y []float32) { concatInto(in, y) }, func(y []float64) { concatInto(in, y) })
}

func concatInto[T Float](in []G.Value, y []T) {
	at := 0
	for _, v := range in {
		at += copy(y[at:], vals[T](v))
	}
}

func (o *concatOp) DiffWRT(n int) []bool { return allInputs(n) }

func (o *concatOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	res := make(G.Nodes, len(in))
	at := 0
	for i, x := range in {
		s := x.Shape().Clone()
		d, err := apply(&rowsOp{base: base{name: "ConcatRowsGrad", arity: 1}, at: at, shape: s}, fmt.Sprintf("dconcat.%d", i), grad)
		if err != nil {
			return nil, err
		}
		res[i] = d
		at += s[0]
	}
	return res, nil
}

func (o *rowsOp) Type() hm.Type { return fnType(len(o.shape), len(o.shape)) }

func (o *rowsOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.shape.Clone(), nil }

func (o *rowsOp) Do(in ...G.Value) (G.Value, error) {
	out, err := o.output(in, &o.out, o.shape...)
	if err != nil {
		return nil, err
	}
	width := o.shape.TotalSize() / o.shape[0]
	return run(out, func(d []float32) { copy(d, vals[float32](in[0])[o.at*width:]) },
		func(d []float64) { copy(d, vals[float64](in[0])[o.at*width:]) })
}
