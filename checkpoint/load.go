package checkpoint

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/sinktrain/sinktrain/model"
)

// Model is a loaded model: its config, float32 weights, the "sinktrain"
// section of config.json (nil for a plain HF folder) and the directory it
// came from.
type Model struct {
	Config    model.Config
	Weights   model.Weights
	Sinktrain *model.SinktrainSection
	Dir       string
}

// Load reads config.json and model.safetensors from dir (one of our run or
// checkpoint directories, or a plain Hugging Face GPT-NeoX folder), converts
// every tensor to float32 and checks names and shapes against the config.
func Load(dir string) (*Model, error) {
	cfgPath := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	cfg, sec, err := model.ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfgPath, err)
	}
	wPath := filepath.Join(dir, "model.safetensors")
	raw, _, err := ReadSafetensors(wPath)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	w, err := ToWeights(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", wPath, err)
	}
	if err := w.Check(cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", wPath, err)
	}
	return &Model{Config: cfg, Weights: w, Sinktrain: sec, Dir: dir}, nil
}

// ToWeights converts raw float tensors to float32 model weights.
func ToWeights(raw map[string]Raw) (model.Weights, error) {
	w := make(model.Weights, len(raw))
	for name, r := range raw {
		switch r.DType {
		case F32, F16, BF16, F64:
		default:
			return nil, fmt.Errorf("tensor %s has dtype %s, expected a float dtype", name, r.DType)
		}
		d, err := r.Float32s()
		if err != nil {
			return nil, fmt.Errorf("tensor %s: %w", name, err)
		}
		w[name] = &model.Tensor{Shape: r.Shape, Data: d}
	}
	return w, nil
}
