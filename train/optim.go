package train

import (
	"fmt"
	"math"

	"github.com/sinktrain/sinktrain/model"
)

// LRAt returns the learning rate of optimizer step step (0-based): linear
// warmup lr·(step+1)/warmup for step < warmup, then decay from lr to min_lr
// over the remaining steps (cosine: min + ½(1+cos(π·p))(lr−min), linear:
// min + (1−p)(lr−min), constant: lr), p = (step−warmup)/(steps−warmup).
func (c Config) LRAt(step, steps int) float64 {
	if step < c.Warmup {
		return c.LR * float64(step+1) / float64(c.Warmup)
	}
	if c.Decay == "constant" || steps <= c.Warmup {
		return c.LR
	}
	p := math.Min(1, float64(step-c.Warmup)/float64(steps-c.Warmup))
	switch c.Decay {
	case "linear":
		return c.MinLR + (1-p)*(c.LR-c.MinLR)
	default:
		return c.MinLR + 0.5*(1+math.Cos(math.Pi*p))*(c.LR-c.MinLR)
	}
}

// param is one parameter with its gradient and AdamW moments.
type param struct {
	spec  model.ParamSpec
	w     []float32 // the weights (shared with every graph)
	grad  []float32 // combined gradient of the step's mean loss
	m, v  []float32 // AdamW first and second moments
	decay bool
}

// AdamW is PyTorch's torch.optim.AdamW (decoupled weight decay, bias
// correction) over a model's parameters, updating the weights in place.
type AdamW struct {
	Beta1, Beta2, Eps, WeightDecay float64
	T                              int // number of updates done
	params                         []*param
}

// NewAdamW prepares AdamW state for every parameter of cfg in w (HF order).
// Weight decay applies where ParamSpec.Decay is set.
func NewAdamW(cfg model.Config, w model.Weights, beta1, beta2, eps, wd float64) (*AdamW, error) {
	o := &AdamW{Beta1: beta1, Beta2: beta2, Eps: eps, WeightDecay: wd}
	for _, s := range cfg.ParamSpecs() {
		t, ok := w[s.Name]
		if !ok || len(t.Data) != s.Size() {
			return nil, fmt.Errorf("optimizer: parameter %s is missing or has the wrong size", s.Name)
		}
		n := len(t.Data)
		o.params = append(o.params, &param{spec: s, w: t.Data, grad: make([]float32, n),
			m: make([]float32, n), v: make([]float32, n), decay: s.Decay})
	}
	return o, nil
}

// GradNorm returns the global L2 norm of the gradients (float64 accumulation).
func (o *AdamW) GradNorm() float64 {
	var s float64
	for _, p := range o.params {
		for _, g := range p.grad {
			s += float64(g) * float64(g)
		}
	}
	return math.Sqrt(s)
}

// Clip scales the gradients so that their global norm is at most maxNorm
// (PyTorch clip_grad_norm_: coefficient maxNorm/(norm+1e-6), capped at 1) and
// returns the norm before clipping. maxNorm 0 only measures.
func (o *AdamW) Clip(maxNorm float64) float64 {
	norm := o.GradNorm()
	if maxNorm <= 0 {
		return norm
	}
	coef := maxNorm / (norm + 1e-6)
	if coef >= 1 {
		return norm
	}
	c := float32(coef)
	for _, p := range o.params {
		for i := range p.grad {
			p.grad[i] *= c
		}
	}
	return norm
}

// Step applies one AdamW update with learning rate lr:
// w −= lr·wd·w (decay params only); m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
// w −= lr · (m/(1−β1^t)) / (sqrt(v/(1−β2^t)) + eps).
// It reports whether every updated weight is finite.
func (o *AdamW) Step(lr float64) bool {
	var check float32 // accumulates w−w: 0 unless some w is NaN or ±Inf
	o.T++
	bc1 := 1 - math.Pow(o.Beta1, float64(o.T))
	bc2 := 1 - math.Pow(o.Beta2, float64(o.T))
	stepSize := float32(lr / bc1)
	invSqrtBC2 := float32(1 / math.Sqrt(bc2))
	b1, b2 := float32(o.Beta1), float32(o.Beta2)
	ob1, ob2 := 1-b1, 1-b2
	eps := float32(o.Eps)
	for _, p := range o.params {
		shrink := float32(1)
		if p.decay {
			shrink = float32(1 - lr*o.WeightDecay)
		}
		w, g, m, v := p.w, p.grad, p.m[:len(p.grad)], p.v[:len(p.grad)]
		w = w[:len(g)]
		for i, gi := range g {
			mi := b1*m[i] + ob1*gi
			vi := b2*v[i] + ob2*gi*gi
			m[i], v[i] = mi, vi
			wi := w[i]*shrink - stepSize*mi/(float32(math.Sqrt(float64(vi)))*invSqrtBC2+eps)
			w[i] = wi
			check += wi - wi
		}
	}
	return check == 0
}
