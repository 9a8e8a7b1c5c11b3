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
	return &Tensor{Shape: slices.Clone(shape), Data: make([]float32, shapeSize(shape))}
}

// Weights maps Hugging Face parameter names to tensors.
type Weights map[string]*Tensor

// CheckTensors verifies that shapes (tensor name → shape) holds exactly
// the parameters of c with c's shapes, ignoring the names skip reports
// (nil: none). The error names the first missing, mis-shaped or unexpected
// tensor and what was expected. It is the one validator of a model's tensor
// list: checkpoint runs it on a file's header before converting anything,
// [Weights.Check] on weights in memory.
func (c Config) CheckTensors(shapes map[string][]int, skip func(name string) bool) error {
	specs := c.ParamSpecs()
	want := make(map[string]bool, len(specs))
	for _, s := range specs {
		want[s.Name] = true
		shape, ok := shapes[s.Name]
		if !ok {
			if s.Role == Output {
				return fmt.Errorf("tensor %s is missing, expected shape %v: tie_word_embeddings is false, so the model needs its own LM head", s.Name, s.Shape)
			}
			return fmt.Errorf("tensor %s is missing, expected shape %v", s.Name, s.Shape)
		}
		if !slices.Equal(shape, s.Shape) {
			return fmt.Errorf("tensor %s has shape %v, expected %v (config: vocab %d, hidden %d, ffn %d, heads %d, kv heads %d, head dim %d)",
				s.Name, shape, s.Shape, c.VocabSize, c.HiddenSize, c.IntermediateSize, c.NumHeads, c.KVHeads(), c.HeadDim())
		}
	}
	var extra []string
	for name := range shapes {
		if !want[name] && (skip == nil || !skip(name)) {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		return fmt.Errorf("unexpected tensor %s (not a parameter of this config: model_type %s, %d layers, attention %s)", extra[0], c.Arch, c.NumLayers, c.Attention)
	}
	return nil
}

// Check verifies that w has exactly the parameters of c with the right
// shapes ([Config.CheckTensors]) and sizes, and no NaN or Inf values
// ([Weights.CheckFinite]). The error names the first bad tensor.
func (w Weights) Check(c Config) error {
	shapes := make(map[string][]int, len(w))
	for name, t := range w {
		shapes[name] = t.Shape
		if n := shapeSize(t.Shape); len(t.Data) != n {
			return fmt.Errorf("tensor %s has %d values, expected %d for shape %v", name, len(t.Data), n, t.Shape)
		}
	}
	if err := c.CheckTensors(shapes, nil); err != nil {
		return err
	}
	return w.CheckFinite()
}

// CheckFinite verifies that no tensor holds a NaN or ±Inf; the error names
// the first one (in name order) and the index.
func (w Weights) CheckFinite() error {
	names := make([]string, 0, len(w))
	for name := range w {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		for i, v := range w[name].Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("tensor %s has a non-finite value %v at index %d", name, v, i)
			}
		}
	}
	return nil
}

// shapeSize returns the number of elements of a shape.
func shapeSize(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
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
