package autograd

import (
	"fmt"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Linear is a dense layer with the weight in Hugging Face (PyTorch) layout:
//
//	y = x·Wᵀ + b              x: [N,in], W: [out,in], b: [out] (nil: no bias)
//
// Backward: dx = dy·W, dW = dyᵀ·x, db = Σ_rows dy. All three products are
// single BLAS gemm calls; W is never transposed in memory.
func Linear(x, w, b *G.Node) (*G.Node, error) {
	if err := wantDims("Linear", "x", x, 2); err != nil {
		return nil, err
	}
	if err := wantDims("Linear", "weight", w, 2); err != nil {
		return nil, err
	}
	if w.Shape()[1] != x.Shape()[1] {
		return nil, fmt.Errorf("autograd: Linear: weight %s has shape %v, expected [out, %d]", w.Name(), w.Shape(), x.Shape()[1])
	}
	children := G.Nodes{x, w}
	if b != nil {
		if b.Dims() != 1 || b.Shape()[0] != w.Shape()[0] {
			return nil, fmt.Errorf("autograd: Linear: bias %s has shape %v, expected [%d]", b.Name(), b.Shape(), w.Shape()[0])
		}
		children = append(children, b)
	}
	return apply(&linearOp{base: base{name: "Linear", arity: len(children)}}, "linear("+x.Name()+","+w.Name()+")", children...)
}

type linearOp struct {
	base
	out outBuf // [N, out]
}

// linearGradOp computes dx = dy·W (inputs dy, W) or, when wrtW,
// dW = dyᵀ·x (inputs dy, x).
type linearGradOp struct {
	base
	wrtW bool
	out  outBuf // [N, in] or [out, in]
}

var (
	_ G.Op   = (*linearOp)(nil)
	_ G.SDOp = (*linearOp)(nil)
	_ G.Op   = (*linearGradOp)(nil)
)

func (o *linearOp) Type() hm.Type {
	if o.arity == 3 {
		return fnType(2, 2, 2, 1)
	}
	return fnType(2, 2, 2)
}

func (o *linearOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	x, err := shapeOf(in[0])
	if err != nil {
		return nil, err
	}
	w, err := shapeOf(in[1])
	if err != nil {
		return nil, err
	}
	return tensor.Shape{x[0], w[0]}, nil
}

func (o *linearOp) Do(in ...G.Value) (G.Value, error) {
	dt, err := o.check(in)
	if err != nil {
		return nil, err
	}
	N, K, M := in[0].Shape()[0], in[0].Shape()[1], in[1].Shape()[0]
	p := o.par()
	return run(o.out.get(dt, N, M), func(y []float32) { linearFwd(p, in, y, N, K, M) },
		func(y []float64) { linearFwd(p, in, y, N, K, M) })
}

func linearFwd[T Float](p int, in []G.Value, y []T, N, K, M int) {
	var beta T
	var prep func(lo, hi int)
	if len(in) == 3 {
		b := vals[T](in[2])
		prep = func(lo, hi int) {
			for i := lo; i < hi; i++ {
				copy(y[i*M:(i+1)*M], b)
			}
		}
		beta = 1
	}
	gemmPar(p, false, true, N, M, K, 1, vals[T](in[0]), K, vals[T](in[1]), K, beta, y, M, prep)
}

func (o *linearOp) DiffWRT(n int) []bool { return allInputs(n) }

func (o *linearOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	dx, err := apply(&linearGradOp{base: base{name: "LinearGradX", arity: 2}}, "dlinear.x", grad, in[1])
	if err != nil {
		return nil, err
	}
	dw, err := apply(&linearGradOp{base: base{name: "LinearGradW", arity: 2}, wrtW: true}, "dlinear.w", grad, in[0])
	if err != nil {
		return nil, err
	}
	res := G.Nodes{dx, dw}
	if len(in) == 3 {
		db, err := SumRows(grad)
		if err != nil {
			return nil, err
		}
		res = append(res, db)
	}
	return res, nil
}

func (o *linearGradOp) Type() hm.Type { return fnType(2, 2, 2) }

func (o *linearGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	dy, err := shapeOf(in[0])
	if err != nil {
		return nil, err
	}
	s, err := shapeOf(in[1])
	if err != nil {
		return nil, err
	}
	if o.wrtW {
		return tensor.Shape{dy[1], s[1]}, nil
	}
	return tensor.Shape{dy[0], s[1]}, nil
}

func (o *linearGradOp) Do(in ...G.Value) (G.Value, error) {
	dt, err := o.check(in)
	if err != nil {
		return nil, err
	}
	N, M, K := in[0].Shape()[0], in[0].Shape()[1], in[1].Shape()[1]
	rows := N // dx [N, K]
	if o.wrtW {
		rows = M // dw [M, K]
	}
	p := o.par()
	return run(o.out.get(dt, rows, K), func(d []float32) { linearBwd(p, o.wrtW, vals[float32](in[0]), vals[float32](in[1]), d, N, M, K) },
		func(d []float64) { linearBwd(p, o.wrtW, vals[float64](in[0]), vals[float64](in[1]), d, N, M, K) })
}

// linearBwd: dy [N,M]; s is W [M,K] (dx = dy·W) or x [N,K] (dW = dyᵀ·x).
func linearBwd[T Float](p int, wrtW bool, dy, s, out []T, N, M, K int) {
	if wrtW {
		gemmPar(p, true, false, M, K, N, 1, dy, M, s, K, 0, out, K, nil)
		return
	}
	gemmPar(p, false, false, N, K, M, 1, dy, M, s, K, 0, out, K, nil)
}

// LinearOutput returns the output buffer [N,out] of the last run of a node
// made by Linear (owned by the op and overwritten by the next run), or nil
// if n is not such a node or has not run. Unlike a Tap it copies nothing;
// it is valid as long as no consumer of n overwrites its input in place
// (none of this package's ops does).
func LinearOutput[T Float](n *G.Node) []T {
	o, ok := n.Op().(*linearOp)
	if !ok || o.out.t == nil {
		return nil
	}
	v, _ := o.out.t.Data().([]T)
	return v
}
