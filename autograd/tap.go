package autograd

import (
	"fmt"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Tap copies the value of x into dst (a []float32 or []float64 of x's size
// and dtype) every time the machine runs, and returns x. Use it to keep a
// node's value: after RunAll, node.Value() may be a register that a later
// instruction reused or overwrote in place. Tap is not differentiable.
func Tap(x *G.Node, dst any) (*G.Node, error) {
	n := x.Shape().TotalSize()
	switch d := dst.(type) {
	case []float32:
		if x.Dtype() != tensor.Float32 || len(d) != n {
			return nil, fmt.Errorf("autograd: Tap %s: dst is []float32 of %d, expected %v of %d", x.Name(), len(d), x.Dtype(), n)
		}
	case []float64:
		if x.Dtype() != tensor.Float64 || len(d) != n {
			return nil, fmt.Errorf("autograd: Tap %s: dst is []float64 of %d, expected %v of %d", x.Name(), len(d), x.Dtype(), n)
		}
	default:
		return nil, fmt.Errorf("autograd: Tap %s: dst is %T, expected []float32 or []float64", x.Name(), dst)
	}
	return apply(&tapOp{base: base{name: "Tap", arity: 1}, dst: dst, dims: x.Dims()}, "tap("+x.Name()+")", x)
}

type tapOp struct {
	base
	likeFirst
	dst  any // []float32 or []float64, len = size of the input
	dims int
}

var _ G.Op = (*tapOp)(nil)

func (o *tapOp) Type() hm.Type {
	if o.dims == 0 {
		a := hm.TypeVariable('a')
		return hm.NewFnType(a, a)
	}
	return fnType(o.dims, o.dims)
}

func (o *tapOp) Do(in ...G.Value) (G.Value, error) {
	if err := o.checkArity(len(in)); err != nil {
		return nil, err
	}
	switch d := o.dst.(type) {
	case []float32:
		switch v := in[0].Data().(type) {
		case []float32:
			copy(d, v)
		case float32:
			d[0] = v
		}
	case []float64:
		switch v := in[0].Data().(type) {
		case []float64:
			copy(d, v)
		case float64:
			d[0] = v
		}
	}
	return in[0], nil
}
