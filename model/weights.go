package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Tensor is a dense row-major float32 tensor.
type Tensor struct {
	Shape []int
	Data  []float32 // len = product of Shape
}

// NewTensor allocates a zero tensor of the given shape.
func NewTensor(shape ...int) *Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return &Tensor{Shape: slices.Clone(shape), Data: make([]float32, n)}
}

// Weights maps Hugging Face parameter names to tensors.
type Weights map[string]*Tensor

// Check verifies that w has exactly the parameters of c with the right
// shapes, and no NaN or Inf values. The error names the first bad tensor.
func (w Weights) Check(c Config) error {
	specs := c.ParamSpecs()
	want := make(map[string]bool, len(specs))
	for _, s := range specs {
		want[s.Name] = true
		t, ok := w[s.Name]
		if !ok {
			return fmt.Errorf("tensor %s is missing, expected shape %v", s.Name, s.Shape)
		}
		if !slices.Equal(t.Shape, s.Shape) {
			return fmt.Errorf("tensor %s has shape %v, expected %v", s.Name, t.Shape, s.Shape)
		}
		if len(t.Data) != s.Size() {
			return fmt.Errorf("tensor %s has %d values, expected %d", s.Name, len(t.Data), s.Size())
		}
		for i, v := range t.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("tensor %s has a non-finite value %v at index %d", s.Name, v, i)
			}
		}
	}
	var extra []string
	for name := range w {
		if !want[name] {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		return fmt.Errorf("unexpected tensor %s (not a parameter of this config)", extra[0])
	}
	return nil
}

// Init returns freshly initialised weights: normal(0, std) matrices (std =
// initializer_range 0.02; the attention output and MLP down projections
// scaled by 1/sqrt(2L) as in GPT-2/nanoGPT), zero biases, unit norm weights,
// zero sink logits. Deterministic in seed.
func Init(c Config, seed uint64) Weights {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	w := make(Weights)
	const std = 0.02
	projStd := std / math.Sqrt(2*float64(c.NumLayers))
	for _, s := range c.ParamSpecs() {
		t := NewTensor(s.Shape...)
		switch s.Role {
		case OutputNorm, AttnNorm, FFNNorm, AttnQNorm, AttnKNorm:
			for i := range t.Data {
				t.Data[i] = 1
			}
		case OutputNormB, AttnNormB, FFNNormB, AttnQKVB, AttnQB, AttnKB, AttnVB, AttnQNormB, AttnKNormB,
			AttnOutB, AttnSinks, FFNGateB, FFNUpB, FFNDownB:
		default:
			sd := std
			if s.Role == AttnOut || s.Role == FFNDown {
				sd = projStd
			}
			for i := range t.Data {
				t.Data[i] = float32(r.NormFloat64() * sd)
			}
		}
		w[s.Name] = t
	}
	return w
}

// Role returns the tensor of role r (layer l for per-layer roles), or nil
// when c has none.
func (w Weights) Role(c Config, r Role, l int) *Tensor {
	name := c.TensorName(r, l)
	if name == "" {
		return nil
	}
	return w[name]
}
