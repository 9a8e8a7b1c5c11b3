package checkpoint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/sinktrain/sinktrain/internal/input"
	"github.com/sinktrain/sinktrain/model"
)

// File names inside a checkpoint directory.
const (
	ConfigFile       = "config.json"
	WeightsFile      = "model.safetensors"
	WeightsIndexFile = "model.safetensors.index.json"
	TokenizerFile    = "tokenizer.json"
)

// Model is a loaded model: its config, float32 weights, the "sinktrain"
// section of config.json (nil for a plain HF folder) and the directory it
// came from.
type Model struct {
	Config    model.Config
	Weights   model.Weights
	Sinktrain *model.SinktrainSection
	Dir       string
	// TokenizerPath is Dir/tokenizer.json when the folder has one, else "".
	TokenizerPath string
}

// Load reads config.json and the weights (model.safetensors, or the
// shards listed in model.safetensors.index.json) from dir: one of our run
// or checkpoint directories, or a plain Hugging Face folder of any family
// model.ParseConfig reads (GPT-NeoX, Llama, Mistral, Qwen2, Falcon, MPT;
// transformers 4.x or 5.x, any float dtype). Names, dtypes and shapes are
// checked against the config before any tensor is converted; HF's
// non-parameter buffers (causal masks, rotary inv_freq) are skipped, and so
// is a tied model's lm_head.weight when it equals the embedding; every
// other unexpected or missing tensor is an error. Pickle checkpoints
// (pytorch_model.bin, *.pt) are refused.
func Load(dir string) (*Model, error) {
	cfgPath := filepath.Join(dir, ConfigFile)
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: no %s, expected a sinktrain checkpoint or a Hugging Face model folder", dir, ConfigFile)
		}
		return nil, err // names config.json
	}
	cfg, sec, err := model.ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfgPath, err)
	}
	w, err := loadWeights(dir, cfg)
	if err != nil {
		return nil, err
	}
	m := &Model{Config: cfg, Weights: w, Sinktrain: sec, Dir: dir}
	if tp := filepath.Join(dir, TokenizerFile); fileExists(tp) {
		m.TokenizerPath = tp
	}
	return m, nil
}

// loadWeights reads the weights of dir and converts them to float32 after
// checking them against cfg.
func loadWeights(dir string, cfg model.Config) (model.Weights, error) {
	raw, src, err := readWeightFiles(dir, func(name string) bool { return !IsBuffer(name) })
	if err != nil {
		return nil, err
	}
	if err := CheckRaw(raw, cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	w, err := ToWeights(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	// Names, shapes and sizes are checked (CheckRaw, Float32s); only the
	// values are left.
	if err := w.CheckFinite(); err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	return w, nil
}

// IsBuffer reports whether name is a known non-parameter buffer that older
// transformers versions save: GPT-NeoX's causal masks
// (gpt_neox.layers.N.attention.bias, .attention.masked_bias) and any
// rotary embedding's inv_freq (….rotary_emb.inv_freq). Load skips them.
func IsBuffer(name string) bool {
	if strings.HasSuffix(name, "rotary_emb.inv_freq") {
		return true
	}
	rest, ok := strings.CutPrefix(name, "gpt_neox.layers.")
	if !ok {
		return false
	}
	layer, suffix, ok := strings.Cut(rest, ".")
	if !ok || layer == "" || strings.Trim(layer, "0123456789") != "" {
		return false
	}
	return suffix == "attention.bias" || suffix == "attention.masked_bias"
}

// readWeightFiles reads model.safetensors or, if absent, the shards of
// model.safetensors.index.json, keeping tensors for which keep is true. It
// returns the tensors and the path to name in errors.
func readWeightFiles(dir string, keep func(string) bool) (map[string]Raw, string, error) {
	single := filepath.Join(dir, WeightsFile)
	if fileExists(single) {
		raw, _, err := readSafetensorsFiltered(single, keep)
		return raw, single, err
	}
	index := filepath.Join(dir, WeightsIndexFile)
	if fileExists(index) {
		raw, err := readSharded(index, keep)
		return raw, index, err
	}
	for _, p := range []string{"pytorch_model.bin", "pytorch_model.bin.index.json", "model.pt", "*.pt", "*.pth", "*.ckpt"} {
		if m, _ := filepath.Glob(filepath.Join(dir, p)); len(m) > 0 {
			return nil, "", fmt.Errorf("%s: found the pickle checkpoint %s, which sinktrain does not read (pickles can run code): convert it to safetensors first, e.g. in Python: AutoModelForCausalLM.from_pretrained(dir).save_pretrained(out, safe_serialization=True)", dir, filepath.Base(m[0]))
		}
	}
	return nil, "", fmt.Errorf("%s: no %s or %s", dir, WeightsFile, WeightsIndexFile)
}

// shardIndex is model.safetensors.index.json.
type shardIndex struct {
	Metadata  map[string]any    `json:"metadata"`
	WeightMap map[string]string `json:"weight_map"`
}

// readSharded reads every shard named by an index file and checks that the
// shards hold exactly the tensors the index assigns to them.
func readSharded(index string, keep func(string) bool) (map[string]Raw, error) {
	b, err := os.ReadFile(index)
	if err != nil {
		return nil, err
	}
	var idx shardIndex
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("%s: %w", index, input.JSON(err))
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("%s: weight_map is missing or empty", index)
	}
	shards := map[string]bool{}
	for name, file := range idx.WeightMap {
		if file == "" || file != filepath.Base(file) || strings.HasPrefix(file, ".") {
			return nil, fmt.Errorf("%s: weight_map[%q] = %q, expected a file name in the same directory", index, name, file)
		}
		shards[file] = true
	}
	files := make([]string, 0, len(shards))
	for f := range shards {
		files = append(files, f)
	}
	sort.Strings(files)
	out := map[string]Raw{}
	dir := filepath.Dir(index)
	for _, file := range files {
		p := filepath.Join(dir, file)
		raw, _, err := readSafetensorsFiltered(p, keep)
		if err != nil {
			return nil, err
		}
		for name, r := range raw {
			if want, ok := idx.WeightMap[name]; !ok || want != file {
				return nil, fmt.Errorf("%s: tensor %s is in %s but weight_map says %q", index, name, file, want)
			}
			out[name] = r
		}
	}
	for name := range idx.WeightMap {
		if _, ok := out[name]; !ok && (keep == nil || keep(name)) {
			return nil, fmt.Errorf("%s: tensor %s is listed in weight_map but missing from %s", index, name, idx.WeightMap[name])
		}
	}
	return out, nil
}

// CheckRaw verifies, before any conversion, that raw holds exactly the
// parameters of cfg (HF's non-parameter buffers aside) with float dtypes
// and the config's shapes (model.Config.CheckTensors). Errors name the
// tensor and the expected dtype or shape. A tied model's lm_head.weight
// that holds the embedding's bytes (some exporters save both) is dropped
// from raw; one that differs is an error.
func CheckRaw(raw map[string]Raw, cfg model.Config) error {
	// Bound the work by the file's content before expanding the config's
	// parameter list (a config may claim millions of layers).
	if perLayer := max(1, cfg.TensorsPerLayer()); cfg.NumLayers > (len(raw)+1)/perLayer+1 {
		return fmt.Errorf("config declares %d layers but the file has only %d tensors", cfg.NumLayers, len(raw))
	}
	if err := dropTiedHead(raw, cfg); err != nil {
		return err
	}
	for _, s := range cfg.ParamSpecs() {
		if r, ok := raw[s.Name]; ok && !r.DType.IsFloat() {
			return fmt.Errorf("tensor %s has dtype %s, expected a float dtype (F32, F16, BF16, F64) of shape %v", s.Name, r.DType, s.Shape)
		}
	}
	shapes := make(map[string][]int, len(raw))
	for name, r := range raw {
		shapes[name] = r.Shape
	}
	return cfg.CheckTensors(shapes, IsBuffer)
}

// dropTiedHead removes a tied model's saved copy of its embedding as
// lm_head.weight.
func dropTiedHead(raw map[string]Raw, cfg model.Config) error {
	if !cfg.TieWordEmbeddings {
		return nil
	}
	untied := cfg
	untied.TieWordEmbeddings = false
	head, emb := untied.TensorName(model.Output, -1), cfg.TensorName(model.TokenEmbd, -1)
	h, ok := raw[head]
	if !ok {
		return nil
	}
	e := raw[emb]
	if h.DType != e.DType || !slices.Equal(h.Shape, e.Shape) || !bytes.Equal(h.Data, e.Data) {
		return fmt.Errorf("tensor %s differs from %s but tie_word_embeddings is true, expected no %s (or a copy of the embedding)", head, emb, head)
	}
	delete(raw, head)
	return nil
}

// ToWeights converts raw float tensors to float32 model weights.
func ToWeights(raw map[string]Raw) (model.Weights, error) {
	w := make(model.Weights, len(raw))
	for name, r := range raw {
		if !r.DType.IsFloat() {
			return nil, fmt.Errorf("tensor %s has dtype %s, expected a float dtype", name, r.DType)
		}
		d, err := r.Float32s()
		if err != nil {
			return nil, fmt.Errorf("tensor %s: %w", name, err)
		}
		w[name] = &model.Tensor{Shape: slices.Clone(r.Shape), Data: d}
	}
	return w, nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
