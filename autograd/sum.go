package autograd

import (
	"fmt"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
)

// Sum adds tensors of one shape elementwise into a buffer the op owns (the
// residual stream: x + attn + mlp in one pass, no allocation per run, unlike
// stock G.Add). Backward: every input gets dy.
func Sum(xs ...*G.Node) (*G.Node, error) {
	if len(xs) < 2 {
		return nil, fmt.Errorf("autograd: Sum: %d inputs, expected at least 2", len(xs))
	}
	name := "sum("
	for i, x := range xs {
		if !x.Shape().Eq(xs[0].Shape()) {
			return nil, fmt.Errorf("autograd: Sum: input %s has shape %v, expected %v", x.Name(), x.Shape(), xs[0].Shape())
		}
		if i > 0 {
			name += ","
		}
		name += x.Name()
	}
	return apply(&sumOp{base: base{name: "Sum", arity: len(xs)}, dims: xs[0].Dims()}, name+")", xs...)
}

type sumOp struct {
	base
	likeFirst
	dims int
	out  outBuf // shape of the inputs
}

var (
	_ G.Op   = (*sumOp)(nil)
	_ G.SDOp = (*sumOp)(nil)
)

func (o *sumOp) Type() hm.Type {
	in := make([]int, o.arity)
	for i := range in {
		in[i] = o.dims
	}
	return fnType(o.dims, in...)
}

func (o *sumOp) Do(in ...G.Value) (G.Value, error) {
	out, err := o.output(in, &o.out)
	if err != nil {
		return nil, err
	}
	return run(out, func(y []float32) { sumInto(in, y) }, func(y []float64) { sumInto(in, y) })
}

func sumInto[T Float](in []G.Value, y []T) {
	copy(y, vals[T](in[0]))
	for _, v := range in[1:] {
		x := vals[T](v)[:len(y)]
		for i := range y {
			y[i] += x[i]
		}
	}
}

func (o *sumOp) DiffWRT(n int) []bool { return allInputs(n) }

func (o *sumOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	res := make(G.Nodes, len(in))
	for i := range res {
		res[i] = grad
	}
	return res, nil
}
