package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// GradCheck configures [CheckGrad]. Zero fields take the defaults.
type GradCheck struct {
	Eps  float64 // central-difference step (default 1e-6)
	ATol float64 // absolute tolerance (default 1e-7)
	RTol float64 // relative tolerance (default 1e-5)
	Seed uint64  // seed of the random projection of a non-scalar output
	// NoGrad lists inputs that are not differentiated (for example integer
	// data); their gradients are not checked.
	NoGrad []int
}

// CheckGrad compares the symbolic gradient of a graph against central finite
// differences, in float64. build receives one input node per tensor in
// inputs (named "in0", "in1", …, bound to those tensors) and returns the
// output node. A non-scalar output y is reduced to the scalar L = Σ y⊙R with
// a fixed random R; the symbolic gradient dL/d(input) is computed through a
// TapeMachine (each op's SymDiff), then every element of every input is
// perturbed by ±Eps and (L(+) − L(−))/(2·Eps) must be within
// ATol + RTol·|symbolic| of it. The first mismatch is returned as an error.
func CheckGrad(inputs []*tensor.Dense, build func(in []*G.Node) (*G.Node, error), c GradCheck) error {
	if c.Eps == 0 {
		c.Eps = 1e-6
	}
	if c.ATol == 0 {
		c.ATol = 1e-7
	}
	if c.RTol == 0 {
		c.RTol = 1e-5
	}
	g := G.NewGraph()
	nodes := make([]*G.Node, len(inputs))
	for i, t := range inputs {
		if t.Dtype() != tensor.Float64 {
			return fmt.Errorf("gradcheck: input %d is %v, expected float64", i, t.Dtype())
		}
		nodes[i] = G.NodeFromAny(g, t, G.WithName(fmt.Sprintf("in%d", i)))
	}
	y, err := build(nodes)
	if err != nil {
		return fmt.Errorf("gradcheck: build: %w", err)
	}
	loss := y
	if !y.IsScalar() {
		r := tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(y.Shape().Clone()...))
		rng := rand.New(rand.NewPCG(c.Seed, 7))
		for i, rd := 0, r.Data().([]float64); i < len(rd); i++ {
			rd[i] = rng.NormFloat64()
		}
		rn := G.NodeFromAny(g, r, G.WithName("gradcheck.r"))
		prod, err := G.HadamardProd(y, rn)
		if err != nil {
			return fmt.Errorf("gradcheck: %w", err)
		}
		if loss, err = G.Sum(prod); err != nil {
			return fmt.Errorf("gradcheck: %w", err)
		}
	}
	skip := make(map[int]bool)
	for _, i := range c.NoGrad {
		skip[i] = true
	}
	var wrt []*G.Node
	var wrtIdx []int
	for i, n := range nodes {
		if !skip[i] {
			wrt = append(wrt, n)
			wrtIdx = append(wrtIdx, i)
		}
	}
	grads, err := G.Grad(loss, wrt...)
	if err != nil {
		return fmt.Errorf("gradcheck: symbolic gradient: %w", err)
	}
	sym := make([][]float64, len(wrt))
	for k, gn := range grads {
		sym[k] = make([]float64, inputs[wrtIdx[k]].Size())
		if _, err := Tap(gn, sym[k]); err != nil {
			return fmt.Errorf("gradcheck: %w", err)
		}
	}
	lossVal := make([]float64, 1)
	if _, err := Tap(loss, lossVal); err != nil {
		return fmt.Errorf("gradcheck: %w", err)
	}
	m, err := NewMachine(g)
	if err != nil {
		return fmt.Errorf("gradcheck: %w", err)
	}
	defer m.Close()
	run := func() (float64, error) {
		m.Reset()
		if err := m.RunAll(); err != nil {
			return 0, err
		}
		return lossVal[0], nil
	}
	if _, err := run(); err != nil {
		return fmt.Errorf("gradcheck: run: %w", err)
	}
	symCopy := make([][]float64, len(sym))
	for k := range sym {
		symCopy[k] = append([]float64(nil), sym[k]...)
	}
	for k, i := range wrtIdx {
		x := inputs[i].Data().([]float64)
		nonzero := false
		for j := range x {
			orig := x[j]
			x[j] = orig + c.Eps
			lp, err := run()
			if err != nil {
				return fmt.Errorf("gradcheck: run: %w", err)
			}
			x[j] = orig - c.Eps
			lm, err := run()
			x[j] = orig
			if err != nil {
				return fmt.Errorf("gradcheck: run: %w", err)
			}
			fd := (lp - lm) / (2 * c.Eps)
			s := symCopy[k][j]
			nonzero = nonzero || s != 0 || fd != 0
			if math.IsNaN(s) || math.Abs(fd-s) > c.ATol+c.RTol*math.Abs(s) {
				return fmt.Errorf("gradcheck: input %d element %d: symbolic %.10g, finite difference %.10g", i, j, s, fd)
			}
		}
		if !nonzero {
			return fmt.Errorf("gradcheck: input %d: gradient is identically zero, the check proves nothing", i)
		}
	}
	return nil
}

// NewMachine compiles g into a TapeMachine, turning gorgonia's compile
// panics into errors.
func NewMachine(g *G.ExprGraph, opts ...G.VMOpt) (m G.VM, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("autograd: compile graph: %v", r)
		}
	}()
	return G.NewTapeMachine(g, opts...), nil
}
