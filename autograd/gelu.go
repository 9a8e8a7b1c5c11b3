package autograd

import (
	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"

	"github.com/sinktrain/sinktrain/internal/kernels"
)

// GELU is the exact (erf) Gaussian error linear unit, elementwise:
//
//	y = x·Φ(x),  Φ(x) = ½(1 + erf(x/√2))
//
// Backward: dx = dy·(Φ(x) + x·φ(x)), φ(x) = exp(−x²/2)/√(2π).
// Kernel: [kernels.GELU] (float64: Φ and φ from a cubic Hermite table;
// float32: from one exponential, error below 1e-7).
func GELU(x *G.Node) (*G.Node, error) {
	return apply(&geluOp{base: base{name: "GELU", arity: 1}, dims: x.Dims()}, "gelu("+x.Name()+")", x)
}

type geluOp struct {
	base
	likeFirst
	dims  int
	out   outBuf // shape of x
	deriv *geluDeriv
}

// geluDeriv is GELU'(x) of the last forward (float32 graphs with a
// backward), so the backward is one multiply.
type geluDeriv struct {
	keep bool
	d    []float32 // shape of x
}

// geluGradOp computes dy·GELU'(x) from (x, dy).
type geluGradOp struct {
	base
	likeFirst
	dims  int
	out   outBuf // shape of x
	deriv *geluDeriv
}

var (
	_ G.Op   = (*geluOp)(nil)
	_ G.SDOp = (*geluOp)(nil)
	_ G.Op   = (*geluGradOp)(nil)
)

func (o *geluOp) Type() hm.Type { return fnType(o.dims, o.dims) }

func (o *geluOp) Do(in ...G.Value) (G.Value, error) {
	out, err := o.output(in, &o.out)
	if err != nil {
		return nil, err
	}
	return run(out, func(y []float32) {
		var d []float32
		if o.deriv != nil && o.deriv.keep {
			if len(o.deriv.d) != len(y) {
				o.deriv.d = kernels.Alloc32(len(y))
			}
			d = o.deriv.d
		}
		x := vals[float32](in[0])
		parallel(o.par(), len(y), elemGrain, func(_, lo, hi int) {
			var dp []float32
			if d != nil {
				dp = d[lo:hi]
			}
			kernels.GELU(x[lo:hi], y[lo:hi], dp)
		})
	}, func(y []float64) { kernels.GELU(vals[float64](in[0]), y, nil) })
}

func (o *geluOp) DiffWRT(int) []bool { return []bool{true} }

func (o *geluOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	if o.deriv == nil {
		o.deriv = &geluDeriv{}
	}
	o.deriv.keep = true
	dx, err := apply(&geluGradOp{base: base{name: "GELUGrad", arity: 2}, dims: o.dims, deriv: o.deriv}, "dgelu", in[0], grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx}, nil
}

func (o *geluGradOp) Type() hm.Type { return fnType(o.dims, o.dims, o.dims) }

func (o *geluGradOp) Do(in ...G.Value) (G.Value, error) {
	out, err := o.output(in, &o.out)
	if err != nil {
		return nil, err
	}
	return run(out, func(dx []float32) {
		x, dy := vals[float32](in[0]), vals[float32](in[1])
		var d []float32 // the forward's GELU'(x), when it kept it
		if o.deriv != nil && len(o.deriv.d) == len(dx) {
			d = o.deriv.d
		}
		parallel(o.par(), len(dx), elemGrain, func(_, lo, hi int) {
			if d == nil {
				kernels.GELUBackward(x[lo:hi], dy[lo:hi], dx[lo:hi])
				return
			}
			kernels.Mul(dy[lo:hi], d[lo:hi], dx[lo:hi])
		})
	}, func(dx []float64) { kernels.GELUBackward(vals[float64](in[0]), vals[float64](in[1]), dx) })
}
