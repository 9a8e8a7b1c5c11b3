package train

import (
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/sinktrain/sinktrain/internal/kernels"
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
	// Parts is how many goroutines share GradNorm, Clip and Step, each
	// taking the same slice of every parameter (≤ 1: the caller's goroutine).
	// Results do not depend on it beyond the order of the norm's partial sums.
	Parts  int
	params []*param
	clip   float32 // pending gradient scale from Clip, applied by Step (0: none)
}

// pendingScale returns the gradient scale Clip left for Step (1 if none).
func (o *AdamW) pendingScale() float32 {
	if o.clip == 0 {
		return 1
	}
	return o.clip
}

// split runs f for every part concurrently (parts = max(1, o.Parts)) and
// waits; f handles [lo, hi) = chunk(len, part) of each parameter.
func (o *AdamW) split(f func(part int)) {
	parts := max(1, o.Parts)
	if parts == 1 {
		f(0)
		return
	}
	var wg sync.WaitGroup
	for i := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i)
		}()
	}
	wg.Wait()
}

// chunk returns the [lo, hi) range of part out of parts over n elements.
func chunk(n, part, parts int) (lo, hi int) {
	parts = max(1, parts)
	return n * part / parts, n * (part + 1) / parts
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
		o.params = append(o.params, &param{spec: s, w: t.Data, grad: kernels.Alloc32(n),
			m: kernels.Alloc32(n), v: kernels.Alloc32(n), decay: s.Decay})
	}
	return o, nil
}

// GradNorm returns the global L2 norm of the gradients (float64
// accumulation, one partial sum per part added in order), with any pending
// Clip scale applied.
func (o *AdamW) GradNorm() float64 {
	parts := max(1, o.Parts)
	partial := make([]float64, parts)
	o.split(func(part int) {
		var s float64
		for _, p := range o.params {
			lo, hi := chunk(len(p.grad), part, parts)
			for _, g := range p.grad[lo:hi] {
				s += float64(g) * float64(g)
			}
		}
		partial[part] = s
	})
	var s float64
	for _, v := range partial {
		s += v
	}
	return math.Sqrt(s) * float64(o.pendingScale())
}

// Clip scales the gradients so that their global norm is at most maxNorm
// (PyTorch clip_grad_norm_: coefficient maxNorm/(norm+1e-6), capped at 1) and
// returns the norm before clipping. maxNorm 0 only measures. The scale is
// applied by the next Step (or seen by GradNorm), not by a pass of its own.
func (o *AdamW) Clip(maxNorm float64) float64 {
	norm := o.GradNorm()
	if maxNorm <= 0 {
		return norm
	}
	if coef := maxNorm / (norm + 1e-6); coef < 1 {
		o.clip = o.pendingScale() * float32(coef)
	}
	return norm
}

// Step applies one AdamW update with learning rate lr to the gradients g
// (times the pending Clip scale):
// w −= lr·wd·w (decay params only); m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
// w −= lr · (m/(1−β1^t)) / (sqrt(v/(1−β2^t)) + eps).
// It reports whether every updated weight is finite.
func (o *AdamW) Step(lr float64) bool {
	o.T++
	bc1 := 1 - math.Pow(o.Beta1, float64(o.T))
	bc2 := 1 - math.Pow(o.Beta2, float64(o.T))
	stepSize := float32(lr / bc1)
	invSqrtBC2 := float32(1 / math.Sqrt(bc2))
	c := kernels.AdamWCoeffs{Scale: o.pendingScale(), Beta1: float32(o.Beta1), Beta2: float32(o.Beta2),
		StepSize: stepSize, InvSqrtBC2: invSqrtBC2, Eps: float32(o.Eps)}
	o.clip = 0
	parts := max(1, o.Parts)
	bad := make([]bool, parts)
	o.split(func(part int) {
		for _, p := range o.params {
			c := c
			c.Shrink = 1
			if p.decay {
				c.Shrink = float32(1 - lr*o.WeightDecay)
			}
			lo, hi := chunk(len(p.grad), part, parts)
			// Lengths are equal by construction (NewAdamW), so err is nil.
			finite, _ := kernels.AdamW(p.w[lo:hi], p.grad[lo:hi], p.m[lo:hi], p.v[lo:hi], c)
			bad[part] = bad[part] || !finite
		}
	})
	return !slices.Contains(bad, true)
}
