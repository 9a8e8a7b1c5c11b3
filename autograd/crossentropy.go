package autograd

import (
	"fmt"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/sinktrain/sinktrain/internal/kernels"
)

// CrossEntropy is the mean cross-entropy of logits [N,V] against integer
// targets [N], with a fused log-softmax; rows whose target equals ignore are
// not scored:
//
//	lse_i = log Σ_v exp(z[i,v]),  L = (1/n) Σ_{i scored} (lse_i − z[i,t_i])
//
// with n the number of scored rows (L = 0 when n = 0). Backward:
//
//	dz[i,v] = dL/n · (softmax(z_i)_v − [v = t_i]) for scored rows, 0 otherwise.
//
// targets is read at every run (the caller may overwrite its contents).
// A target outside [0, V) other than ignore fails the run with an error.
func CrossEntropy(logits *G.Node, targets []int32, ignore int32) (*G.Node, error) {
	if err := wantDims("CrossEntropy", "logits", logits, 2); err != nil {
		return nil, err
	}
	if len(targets) != logits.Shape()[0] {
		return nil, fmt.Errorf("autograd: CrossEntropy: %d targets, expected %d (rows of %s)", len(targets), logits.Shape()[0], logits.Name())
	}
	return apply(&crossEntropyOp{base: base{name: "CrossEntropy", arity: 1}, targets: targets, ignore: ignore}, "crossentropy("+logits.Name()+")", logits)
}

type crossEntropyOp struct {
	base
	targets []int32 // [N], owned by the caller
	ignore  int32
	ran     bool // a forward has run (the backward needs its n and grad)
	n       int  // scored rows of the last run
	// float32 graphs with a backward compute the gradient for dL = 1 in the
	// forward, while each row's exponentials are in cache: the backward is
	// then a view of it (dL = 1, training) or one scaling pass.
	keepGrad bool
	grad     []float32 // [N, V] (softmax(z_i) − onehot(t_i))/n, 0 for unscored rows
}

// crossEntropyGradOp computes dz from (logits, dL) using, for float32, the
// forward's gradient and, for float64, the logits again.
type crossEntropyGradOp struct {
	base
	likeFirst
	fwd  *crossEntropyOp
	out  outBuf        // [N, V]
	view *tensor.Dense // fwd.grad as a tensor, the output when dL = 1
}

var (
	_ G.Op   = (*crossEntropyOp)(nil)
	_ G.SDOp = (*crossEntropyOp)(nil)
	_ G.Op   = (*crossEntropyGradOp)(nil)
)

func (o *crossEntropyOp) Type() hm.Type { return fnType(0, 2) }

func (o *crossEntropyOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.ScalarShape(), nil
}

func (o *crossEntropyOp) checkTargets(V int) error {
	for i, t := range o.targets {
		if t != o.ignore && (t < 0 || int(t) >= V) {
			return fmt.Errorf("autograd: CrossEntropy: target %d at row %d, expected an id in [0, %d) or %d", t, i, V, o.ignore)
		}
	}
	return nil
}

func (o *crossEntropyOp) Do(in ...G.Value) (G.Value, error) {
	dt, err := o.check(in)
	if err != nil {
		return nil, err
	}
	V := in[0].Shape()[1]
	if err := o.checkTargets(V); err != nil {
		return nil, err
	}
	var loss float64
	if dt == tensor.Float32 {
		var grad []float32
		if o.keepGrad {
			if len(o.grad) != len(o.targets)*V {
				o.grad = kernels.Alloc32(len(o.targets) * V)
			}
			grad = o.grad
		}
		loss, o.n = crossEntropyFwd(o.par(), vals[float32](in[0]), o.targets, o.ignore, V, grad)
	} else {
		loss, o.n = crossEntropyFwd(o.par(), vals[float64](in[0]), o.targets, o.ignore, V, nil)
	}
	o.ran = true
	return scalar(dt, loss), nil
}

// Scored returns how many rows the last run scored.
func (o *crossEntropyOp) Scored() int { return o.n }

func (o *crossEntropyOp) DiffWRT(int) []bool { return []bool{true} }

func (o *crossEntropyOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	o.keepGrad = true
	dz, err := apply(&crossEntropyGradOp{base: base{name: "CrossEntropyGrad", arity: 2}, fwd: o}, "dcrossentropy", in[0], grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dz}, nil
}

func (o *crossEntropyGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(G.TensorType{Dims: 2, Of: a}, a, G.TensorType{Dims: 2, Of: a})
}

func (o *crossEntropyGradOp) Do(in ...G.Value) (G.Value, error) {
	dt, err := o.check(in)
	if err != nil {
		return nil, err
	}
	f := o.fwd
	if !f.ran {
		return nil, fmt.Errorf("autograd: CrossEntropyGrad ran before its forward")
	}
	V := in[0].Shape()[1]
	dL := scalarOf(in[1])
	out := o.out.get(dt, in[0].Shape()...)
	if dt == tensor.Float32 { // SymDiff set f.keepGrad: the forward wrote f.grad
		if len(f.grad) != len(f.targets)*V {
			return nil, fmt.Errorf("autograd: CrossEntropyGrad: the forward kept %d gradient values, expected %d×%d", len(f.grad), len(f.targets), V)
		}
		if dL == 1 {
			if o.view == nil || &vals[float32](o.view)[0] != &f.grad[0] {
				o.view = tensor.New(tensor.WithShape(len(f.targets), V), tensor.WithBacking(f.grad))
			}
			return o.view, nil
		}
		kernels.Scale(f.grad, vals[float32](out), float32(dL))
		return out, nil
	}
	scale := 0.0
	if f.n > 0 {
		scale = dL / float64(f.n)
	}
	crossEntropyRows(1, vals[float64](in[0]), f.targets, f.ignore, V, vals[float64](out), scale)
	return out, nil
}

// scoredRows returns how many targets are not ignore.
func scoredRows(targets []int32, ignore int32) int {
	n := 0
	for _, t := range targets {
		if t != ignore {
			n++
		}
	}
	return n
}

// crossEntropyFwd returns the mean loss and the number of scored rows of z
// [N, V] ([kernels.CrossEntropy] per row). With grad ([N, V], float32 only)
// it also writes the gradient of the mean loss: (softmax(z_i) − onehot(t_i))/n
// for scored rows, 0 for the others.
func crossEntropyFwd[T Float](p int, z []T, targets []int32, ignore int32, V int, grad []T) (loss float64, n int) {
	n = scoredRows(targets, ignore)
	if n == 0 {
		clear(grad)
		return 0, 0
	}
	return crossEntropyRows(p, z, targets, ignore, V, grad, 1/float64(n)) / float64(n), n
}

// crossEntropyRows returns the summed NLL of the scored rows of z [N, V]
// and, with grad [N, V], writes scale·(softmax(z_i) − onehot(t_i)) for
// scored rows and 0 for the others. p goroutines share the rows; the
// losses are added in row order whatever p is.
func crossEntropyRows[T Float](p int, z []T, targets []int32, ignore int32, V int, grad []T, scale float64) float64 {
	row := func(i int) float64 {
		var dst []T
		if grad != nil {
			dst = grad[i*V : (i+1)*V]
		}
		if targets[i] == ignore {
			clear(dst)
			return 0
		}
		return kernels.CrossEntropy(z[i*V:(i+1)*V], int(targets[i]), dst, scale)
	}
	var loss float64
	if p <= 1 {
		for i := range targets {
			loss += row(i)
		}
		return loss
	}
	nll := make([]float64, len(targets))
	parallel(p, len(targets), 1, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			nll[i] = row(i)
		}
	})
	for _, v := range nll {
		loss += v
	}
	return loss
}

// CrossEntropyScored returns a function reporting how many targets the last
// run of n (a node made by CrossEntropy) scored; it returns 0 for other nodes.
func CrossEntropyScored(n *G.Node) func() int {
	o, ok := n.Op().(*crossEntropyOp)
	if !ok {
		return func() int { return 0 }
	}
	return o.Scored
}
