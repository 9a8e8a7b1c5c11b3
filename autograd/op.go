package autograd

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/sinktrain/sinktrain/internal/kernels"
)

// base is the boilerplate every op of this package shares. Ops are never
// merged by gorgonia's hash-consing: the hash includes the op's address,
// because each op owns buffers and state for exactly one node.
type base struct {
	name    string
	arity   int
	threads int // goroutines the op may split its work over (SetThreads); 0 is 1
}

func (o *base) setThreads(n int) { o.threads = n }

// par is the goroutines the op may use (≥ 1).
func (o *base) par() int { return max(1, o.threads) }

func (o *base) Arity() int            { return o.arity }
func (o *base) ReturnsPtr() bool      { return false }
func (o *base) CallsExtern() bool     { return false }
func (o *base) OverwritesInput() int  { return -1 }
func (o *base) String() string        { return o.name }
func (o *base) WriteHash(h hash.Hash) { fmt.Fprintf(h, "%s@%p", o.name, o) }
func (o *base) Hashcode() uint32 {
	h := fnv.New32a()
	o.WriteHash(h)
	return h.Sum32()
}

// checkArity validates the number of inputs of a Do call.
func (o *base) checkArity(n int) error {
	if n != o.arity {
		return fmt.Errorf("autograd: %s: got %d inputs, expected %d", o.name, n, o.arity)
	}
	return nil
}

// check starts a Do call: it validates the number of inputs and their dtype
// (float32 or float64), which it returns.
func (o *base) check(in []G.Value) (tensor.Dtype, error) {
	if err := o.checkArity(len(in)); err != nil {
		return tensor.Dtype{}, err
	}
	return dtypeOf(in[0])
}

// output starts a Do call as [base.check] does and returns buf with the
// inputs' dtype and shape dims (none: the shape of in[0]).
func (o *base) output(in []G.Value, buf *outBuf, dims ...int) (*tensor.Dense, error) {
	dt, err := o.check(in)
	if err != nil {
		return nil, err
	}
	if len(dims) == 0 {
		return buf.get(dt, in[0].Shape()...), nil
	}
	return buf.get(dt, dims...), nil
}

// run fills out with the kernel for its dtype: k32 for float32, k64 for
// float64. It returns out as the result of a Do call.
func run(out *tensor.Dense, k32 func(y []float32), k64 func(y []float64)) (G.Value, error) {
	if out.Dtype() == tensor.Float32 {
		k32(vals[float32](out))
	} else {
		k64(vals[float64](out))
	}
	return out, nil
}

// runErr is [run] for kernels that can fail.
func runErr(out *tensor.Dense, k32 func(y []float32) error, k64 func(y []float64) error) (G.Value, error) {
	var err error
	if out.Dtype() == tensor.Float32 {
		err = k32(vals[float32](out))
	} else {
		err = k64(vals[float64](out))
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// likeFirst gives an op the output shape of its first input; ops embed it
// for their InferShape.
type likeFirst struct{}

func (likeFirst) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(in[0])
	return s.Clone(), err
}

// allInputs is DiffWRT of an op differentiable in each of its n inputs.
func allInputs(n int) []bool {
	d := make([]bool, n)
	for i := range d {
		d[i] = true
	}
	return d
}

// fnType returns the type a → … → out of an op whose inputs and output are
// tensors of one element type (type variable 'a'; 'b' is reserved by
// gorgonia). outDims 0 means a scalar output.
func fnType(outDims int, inDims ...int) hm.Type {
	a := hm.TypeVariable('a')
	ts := make([]hm.Type, 0, len(inDims)+1)
	for _, d := range inDims {
		ts = append(ts, G.TensorType{Dims: d, Of: a})
	}
	if outDims == 0 {
		ts = append(ts, a)
	} else {
		ts = append(ts, G.TensorType{Dims: outDims, Of: a})
	}
	return hm.NewFnType(ts...)
}

// outBuf is an op's reusable output tensor.
type outBuf struct {
	t *tensor.Dense
}

// get returns the buffer with the given dtype and shape, allocating it on
// first use or when a consumer changed it. Contents are stale.
func (b *outBuf) get(dt tensor.Dtype, shape ...int) *tensor.Dense {
	if b.t == nil || b.t.Dtype() != dt || !b.t.Shape().Eq(tensor.Shape(shape)) || b.t.IsView() {
		if dt == tensor.Float32 {
			b.t = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(kernels.Alloc32(tensor.Shape(shape).TotalSize())))
		} else {
			b.t = tensor.New(tensor.Of(dt), tensor.WithShape(shape...))
		}
	}
	return b.t
}

// vals returns a tensor value's backing slice as []T.
func vals[T Float](v G.Value) []T { return v.Data().([]T) }

// dtypeOf returns the dtype of a value and whether it is float32/float64.
func dtypeOf(v G.Value) (tensor.Dtype, error) {
	dt := v.Dtype()
	if dt != tensor.Float32 && dt != tensor.Float64 {
		return dt, fmt.Errorf("autograd: dtype %v is not supported, expected float32 or float64", dt)
	}
	return dt, nil
}

// scalar returns a gorgonia scalar value of dtype dt.
func scalar(dt tensor.Dtype, v float64) G.Value {
	if dt == tensor.Float32 {
		return G.NewF32(float32(v))
	}
	return G.NewF64(v)
}

// scalarOf reads a scalar value (or a one-element tensor).
func scalarOf(v G.Value) float64 {
	switch x := v.(type) {
	case *G.F32:
		return float64(*x)
	case *G.F64:
		return float64(*x)
	}
	switch d := v.Data().(type) {
	case float32:
		return float64(d)
	case float64:
		return d
	case []float32:
		return float64(d[0])
	case []float64:
		return d[0]
	}
	return 0
}

// shapeOf returns a node's input DimSizer as a tensor.Shape.
func shapeOf(d G.DimSizer) (tensor.Shape, error) {
	s, ok := d.(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("autograd: input shape %v is not a tensor.Shape", d)
	}
	return s, nil
}

// wantDims checks that node n has the given number of dims.
func wantDims(op, what string, n *G.Node, dims int) error {
	if n.Dims() != dims {
		return fmt.Errorf("autograd: %s: %s %s has shape %v, expected %d dims", op, what, n.Name(), n.Shape(), dims)
	}
	return nil
}

// apply applies op to children and names the result.
func apply(op G.Op, name string, children ...*G.Node) (*G.Node, error) {
	n, err := G.ApplyOpWithName(op, name, children...)
	if err != nil {
		return nil, fmt.Errorf("autograd: %s: %w", name, err)
	}
	return n, nil
}
