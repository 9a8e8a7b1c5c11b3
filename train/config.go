package train

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/sinktrain/sinktrain/configs"
	"github.com/sinktrain/sinktrain/internal/input"
	"github.com/sinktrain/sinktrain/model"
	"github.com/sinktrain/sinktrain/sinktoken"
)

// Config is the whole training configuration. Every key is the json tag of a
// field; presets (configs/*.json) and key=value overrides only override some
// of them. It is stored in config.json ("sinktrain.train") and in
// trainer_state.json. How a run is spread over the machine (workers, BLAS
// threads) is not part of it: see [Runtime].
type Config struct {
	// Model. The vocabulary always comes from the tokenizer. Arch gpt_neox
	// is GPT-NeoX (Pythia: LayerNorm, GELU MLP, fused qkv, partial RoPE);
	// llama is transformers' LlamaForCausalLM (RMSNorm, SwiGLU MLP,
	// grouped-query attention, full RoPE, optionally tied embeddings).
	Arch             string  `json:"arch"`              // gpt_neox | llama
	HiddenSize       int     `json:"hidden_size"`       // D
	NumLayers        int     `json:"num_layers"`        // L
	NumHeads         int     `json:"num_heads"`         // H, divides D
	NumKVHeads       int     `json:"num_kv_heads"`      // llama: key/value heads KV, divides H (0 → H)
	IntermediateSize int     `json:"intermediate_size"` // F, MLP width (0 → 4·D)
	RotaryPct        float64 `json:"rotary_pct"`        // gpt_neox: fraction of each head's dims rotated (llama: all)
	RotaryBase       float64 `json:"rotary_base"`       // RoPE theta (llama: rope_theta)
	ParallelResidual bool    `json:"parallel_residual"` // gpt_neox: Pythia residual (llama: sequential)
	LayerNormEps     float64 `json:"layer_norm_eps"`    // llama: rms_norm_eps
	MaxPositions     int     `json:"max_position_embeddings"`
	TieEmbeddings    bool    `json:"tie_embeddings"` // llama: lm_head is embed_tokens
	Sinks            int     `json:"sinks"`          // k ≥ 0 sink tokens prepended to every sample
	Attention        string  `json:"attention"`      // softmax | softmax1 | sink_logit

	// VocabSize is the BPE vocabulary trained when --data is omitted and the
	// embedded text is prepared (the model uses the tokenizer's size).
	VocabSize int `json:"vocab_size"`

	// Batches: a step sees Batch·GradAccum rows of BlockSize text tokens.
	BlockSize int `json:"block_size"`
	Batch     int `json:"batch"`
	GradAccum int `json:"grad_accum"`

	// AdamW with decoupled weight decay (not on norms, biases, embeddings).
	LR          float64    `json:"lr"`     // peak learning rate
	MinLR       float64    `json:"min_lr"` // floor of the decay
	Warmup      int        `json:"warmup"` // linear warmup steps
	Decay       string     `json:"decay"`  // cosine | linear | constant, from Warmup to MaxSteps
	WeightDecay float64    `json:"weight_decay"`
	Betas       [2]float64 `json:"betas"`
	Eps         float64    `json:"eps"`
	GradClip    float64    `json:"grad_clip"` // global-norm clip (0 = off)

	// Length: MaxTokens > 0 wins and sets the steps to ceil(MaxTokens / tokens per step).
	MaxSteps  int   `json:"max_steps"`
	MaxTokens int64 `json:"max_tokens"`

	EvalInterval       int    `json:"eval_interval"`       // steps between val losses (0 = only at the end)
	EvalTokens         int    `json:"eval_tokens"`         // val text tokens per evaluation
	CheckpointInterval int    `json:"checkpoint_interval"` // steps between checkpoints (0 = only at the end)
	KeepCheckpoints    int    `json:"keep_checkpoints"`    // newest N kept (0 = all)
	LogInterval        int    `json:"log_interval"`        // steps between metrics lines
	Seed               uint64 `json:"seed"`                // weights init and data order
}

// Defaults returns the one block of default values.
func Defaults() Config {
	return Config{
		Arch:               string(model.GPTNeoX),
		HiddenSize:         256,
		NumLayers:          4,
		NumHeads:           4,
		NumKVHeads:         0, // H
		IntermediateSize:   0, // 4·D
		RotaryPct:          0.25,
		RotaryBase:         10000,
		ParallelResidual:   true,
		LayerNormEps:       1e-5,
		MaxPositions:       2048,
		TieEmbeddings:      false,
		Sinks:              0,
		Attention:          string(sinktoken.Softmax),
		VocabSize:          4096,
		BlockSize:          256,
		Batch:              32,
		GradAccum:          1,
		LR:                 1e-3,
		MinLR:              1e-4,
		Warmup:             100,
		Decay:              "cosine",
		WeightDecay:        0.1,
		Betas:              [2]float64{0.9, 0.95},
		Eps:                1e-8,
		GradClip:           1.0,
		MaxSteps:           1000,
		MaxTokens:          0,
		EvalInterval:       200,
		EvalTokens:         65536,
		CheckpointInterval: 250,
		KeepCheckpoints:    3,
		LogInterval:        10,
		Seed:               1337,
	}
}

// modelKeys are the keys that describe the model; a checkpoint must agree on them.
var modelKeys = []string{"arch", "hidden_size", "num_layers", "num_heads", "num_kv_heads", "intermediate_size",
	"rotary_pct", "rotary_base", "parallel_residual", "layer_norm_eps", "max_position_embeddings", "tie_embeddings",
	"sinks", "attention"}

// field returns the addressable field of c with json tag key.
func (c *Config) field(key string) (reflect.Value, bool) {
	v := reflect.ValueOf(c).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if t.Field(i).Tag.Get("json") == key {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

// Keys returns every config key in declaration order.
func Keys() []string {
	t := reflect.TypeOf(Config{})
	keys := make([]string, t.NumField())
	for i := range keys {
		keys[i] = t.Field(i).Tag.Get("json")
	}
	return keys
}

func unknownKey(key string) error {
	return fmt.Errorf("unknown config key %q (known: %s; runtime keys: %s)", key, strings.Join(Keys(), ", "), strings.Join(runtimeKeys, ", "))
}

// Set parses value for key according to the field's type ("lr=3e-4",
// "betas=0.9,0.95", "parallel_residual=false"). Unknown keys and values of the
// wrong type are errors.
func (c *Config) Set(key, value string) error {
	f, ok := c.field(key)
	if !ok {
		return unknownKey(key)
	}
	bad := func(want string) error {
		return fmt.Errorf("config key %s: %q is not %s", key, value, want)
	}
	s := strings.TrimSpace(value)
	switch f.Kind() {
	case reflect.String:
		f.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return bad("a boolean")
		}
		f.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := parseInt(s)
		if err != nil {
			return bad("an integer")
		}
		f.SetInt(n)
	case reflect.Uint64:
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return bad("a non-negative integer")
		}
		f.SetUint(n)
	case reflect.Float64:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return bad("a number")
		}
		f.SetFloat(x)
	case reflect.Array:
		parts := strings.Split(strings.Trim(s, "[]"), ",")
		if len(parts) != f.Len() {
			return bad(fmt.Sprintf("%d comma-separated numbers", f.Len()))
		}
		for i, p := range parts {
			x, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if err != nil {
				return bad(fmt.Sprintf("%d comma-separated numbers", f.Len()))
			}
			f.Index(i).SetFloat(x)
		}
	default:
		return fmt.Errorf("config key %s: unsupported type %s", key, f.Type())
	}
	return nil
}

// parseInt accepts integers also written as 1e6 or 1_000_000.
func parseInt(s string) (int64, error) {
	s = strings.ReplaceAll(s, "_", "")
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || x != math.Trunc(x) || math.Abs(x) > 1<<62 {
		return 0, errors.New("not an integer")
	}
	return int64(x), nil
}

// SetAll applies "key=value" overrides in order.
func (c *Config) SetAll(sets []string) error {
	for _, kv := range sets {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return input.Errorf("Set", "override", strconv.Quote(kv), "expected key=value")
		}
		if err := c.Set(strings.TrimSpace(k), v); err != nil {
			return input.New("Set", "override", strconv.Quote(kv), err)
		}
	}
	return nil
}

// ApplyJSON overrides the keys present in a JSON object (a preset file or a
// stored config); name is used in errors.
func (c *Config) ApplyJSON(name string, b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return input.New("Config", "config", name, input.JSON(err))
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		f, ok := c.field(k)
		if !ok {
			return input.New("Config", "config", name, unknownKey(k))
		}
		d := json.NewDecoder(bytes.NewReader(m[k]))
		if err := d.Decode(f.Addr().Interface()); err != nil {
			return input.Errorf("Config", "config", name, "key %s: %s is not %s", k, m[k], jsonType(f.Type()))
		}
	}
	return nil
}

func jsonType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Uint64:
		return "an integer"
	case reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "a boolean"
	case reflect.Array:
		return fmt.Sprintf("a list of %d numbers", t.Len())
	}
	return t.Kind().String()
}

// Presets lists the names of the embedded presets.
func Presets() []string {
	names, _ := fs.Glob(configs.FS, "*.json")
	for i, n := range names {
		names[i] = strings.TrimSuffix(n, ".json")
	}
	return names
}

// ApplyPreset applies a preset: an embedded name ("tiny", "small",
// "reference") or a path to a JSON file.
func (c *Config) ApplyPreset(nameOrPath string) error {
	b, err := fs.ReadFile(configs.FS, nameOrPath+".json")
	if err != nil {
		b, err = os.ReadFile(nameOrPath)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && filepath.Ext(nameOrPath) == "" {
				return input.Errorf("Config", "config", nameOrPath, "no such preset (known: %s) or file", strings.Join(Presets(), ", "))
			}
			return input.File("Config", "config", nameOrPath, err)
		}
	}
	return c.ApplyJSON(nameOrPath, b)
}

// Resolve builds the config: base (Defaults, or a resumed run's config), then
// the preset (if any), then the overrides.
func Resolve(base Config, preset string, sets []string) (Config, error) {
	c, err := apply(base, preset, sets)
	if err != nil {
		return Config{}, err
	}
	return c, c.Validate()
}

// apply is Resolve without the validation.
func apply(base Config, preset string, sets []string) (Config, error) {
	c := base
	if preset != "" {
		if err := c.ApplyPreset(preset); err != nil {
			return Config{}, err
		}
	}
	if err := c.SetAll(sets); err != nil {
		return Config{}, err
	}
	return c, nil
}

// maxTokensPerStep bounds batch × grad_accum × block_size (2^40), so that
// step sizes never overflow.
const maxTokensPerStep = 1 << 40

// Validate checks the values and returns one error naming the first bad key.
func (c Config) Validate() error {
	pos := []struct {
		k string
		v int
	}{
		{"hidden_size", c.HiddenSize}, {"num_layers", c.NumLayers}, {"num_heads", c.NumHeads},
		{"block_size", c.BlockSize}, {"batch", c.Batch}, {"grad_accum", c.GradAccum},
		{"log_interval", c.LogInterval}, {"vocab_size", c.VocabSize},
		{"max_position_embeddings", c.MaxPositions},
	}
	for _, p := range pos {
		if p.v <= 0 {
			return fmt.Errorf("config key %s = %d, expected a positive integer", p.k, p.v)
		}
	}
	nonneg := []struct {
		k string
		v int64
	}{
		{"num_kv_heads", int64(c.NumKVHeads)}, {"intermediate_size", int64(c.IntermediateSize)}, {"sinks", int64(c.Sinks)}, {"warmup", int64(c.Warmup)},
		{"max_steps", int64(c.MaxSteps)}, {"max_tokens", c.MaxTokens}, {"eval_interval", int64(c.EvalInterval)},
		{"eval_tokens", int64(c.EvalTokens)}, {"checkpoint_interval", int64(c.CheckpointInterval)},
		{"keep_checkpoints", int64(c.KeepCheckpoints)},
	}
	for _, p := range nonneg {
		if p.v < 0 {
			return fmt.Errorf("config key %s = %d, expected >= 0", p.k, p.v)
		}
	}
	if c.MaxSteps == 0 && c.MaxTokens == 0 {
		return errors.New("config keys max_steps and max_tokens are both 0, expected one of them > 0")
	}
	if c.HiddenSize%c.NumHeads != 0 {
		return fmt.Errorf("config key hidden_size = %d is not divisible by num_heads = %d", c.HiddenSize, c.NumHeads)
	}
	if err := c.validateArch(); err != nil {
		return err
	}
	if err := sinktoken.Attention(c.Attention).Validate(); err != nil {
		return fmt.Errorf("config key attention: %w", err)
	}
	switch c.Decay {
	case "cosine", "linear", "constant":
	default:
		return fmt.Errorf("config key decay = %q, expected cosine, linear or constant", c.Decay)
	}
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	if !(c.LR > 0) || !finite(c.LR) {
		return fmt.Errorf("config key lr = %v, expected > 0", c.LR)
	}
	if !(c.MinLR >= 0 && c.MinLR <= c.LR) {
		return fmt.Errorf("config key min_lr = %v, expected in [0, lr = %v]", c.MinLR, c.LR)
	}
	for i, b := range c.Betas {
		if !(b >= 0 && b < 1) {
			return fmt.Errorf("config key betas[%d] = %v, expected in [0, 1)", i, b)
		}
	}
	checks := []struct {
		k  string
		ok bool
		v  float64
		w  string
	}{
		{"eps", c.Eps > 0 && finite(c.Eps), c.Eps, "> 0"},
		{"weight_decay", c.WeightDecay >= 0 && finite(c.WeightDecay), c.WeightDecay, ">= 0"},
		{"grad_clip", c.GradClip >= 0 && finite(c.GradClip), c.GradClip, ">= 0 (0 = off)"},
		{"layer_norm_eps", c.LayerNormEps > 0, c.LayerNormEps, "> 0"},
		{"rotary_base", c.RotaryBase > 0, c.RotaryBase, "> 0"},
	}
	for _, ch := range checks {
		if !ch.ok {
			return fmt.Errorf("config key %s = %v, expected %s", ch.k, ch.v, ch.w)
		}
	}
	if c.BlockSize > c.MaxPositions || c.Sinks > c.MaxPositions-c.BlockSize { // no overflow
		return fmt.Errorf("config keys sinks + block_size = %d + %d exceeds max_position_embeddings = %d", c.Sinks, c.BlockSize, c.MaxPositions)
	}
	if tps := float64(c.Batch) * float64(c.GradAccum) * float64(c.BlockSize); tps > maxTokensPerStep {
		return fmt.Errorf("config keys batch × grad_accum × block_size = %.4g tokens per step, expected at most %d", tps, int64(maxTokensPerStep))
	}
	if c.MaxTokens > math.MaxInt64/2 || c.MaxSteps > math.MaxInt32 {
		return fmt.Errorf("config keys max_tokens = %d or max_steps = %d is beyond any run, expected max_tokens ≤ 2^62 and max_steps ≤ 2^31-1", c.MaxTokens, c.MaxSteps)
	}
	// The model's own checks (rotary dims, …) with a placeholder vocabulary.
	if err := c.Model(1, nil).Validate(); err != nil {
		return err
	}
	return nil
}

// validateArch checks the arch key and the keys only one architecture has.
func (c Config) validateArch() error {
	switch model.Arch(c.Arch) {
	case model.GPTNeoX:
		if c.TieEmbeddings {
			return errors.New("config key tie_embeddings = true needs arch = llama (GPT-NeoX keeps embed_out separate), expected false")
		}
		if c.NumKVHeads != 0 && c.NumKVHeads != c.NumHeads {
			return fmt.Errorf("config key num_kv_heads = %d needs arch = llama (GPT-NeoX has one key/value head per head), expected 0", c.NumKVHeads)
		}
	case model.Llama:
		if kv := c.kvHeads(); c.NumHeads%kv != 0 {
			return fmt.Errorf("config key num_kv_heads = %d does not divide num_heads = %d, expected one of %s (0 = num_heads)", kv, c.NumHeads, divisors(c.NumHeads))
		}
	default:
		return fmt.Errorf("config key arch = %q, expected gpt_neox or llama", c.Arch)
	}
	return nil
}

// divisors lists the divisors of n ("1, 2 or 4").
func divisors(n int) string {
	var d []string
	for i := 1; i <= n && len(d) < 16; i++ {
		if n%i == 0 {
			d = append(d, strconv.Itoa(i))
		}
	}
	if len(d) == 1 {
		return d[0]
	}
	return strings.Join(d[:len(d)-1], ", ") + " or " + d[len(d)-1]
}

// kvHeads returns the key/value heads: NumKVHeads, or NumHeads for 0.
func (c Config) kvHeads() int {
	if c.NumKVHeads > 0 {
		return c.NumKVHeads
	}
	return c.NumHeads
}

// ffn returns the MLP width: IntermediateSize, or 4·D for 0.
func (c Config) ffn() int {
	if c.IntermediateSize > 0 {
		return c.IntermediateSize
	}
	return 4 * c.HiddenSize
}

// RowsPerStep returns Batch·GradAccum.
func (c Config) RowsPerStep() int { return c.Batch * c.GradAccum }

// TokensPerStep returns the text tokens one optimizer step consumes.
func (c Config) TokensPerStep() int64 { return int64(c.RowsPerStep()) * int64(c.BlockSize) }

// Steps returns the number of optimizer steps of the run.
func (c Config) Steps() int {
	if c.MaxTokens > 0 {
		tps := c.TokensPerStep()
		return int((c.MaxTokens + tps - 1) / tps)
	}
	return c.MaxSteps
}

// Model returns the model config for a vocabulary of vocab ids and the given
// sink ids (len = Sinks, or nil before the tokenizer is known): GPT-NeoX,
// or for arch llama transformers' LlamaConfig with rope_theta =
// rotary_base, rms_norm_eps = layer_norm_eps, num_key_value_heads =
// num_kv_heads and tie_word_embeddings = tie_embeddings (rotary_pct and
// parallel_residual are GPT-NeoX keys: Llama rotates every dim and runs
// sequential blocks).
func (c Config) Model(vocab int, sinkIDs []int) model.Config {
	var mc model.Config
	if model.Arch(c.Arch) == model.Llama {
		kv := c.NumKVHeads
		if kv == c.NumHeads {
			kv = 0 // as model.ParseConfig reads it back
		}
		mc = model.NewLlama(vocab, c.HiddenSize, c.NumLayers, c.NumHeads, kv, c.ffn(), c.TieEmbeddings)
		mc.RotaryBase, mc.LayerNormEps, mc.MaxPositionEmbeddings = c.RotaryBase, c.LayerNormEps, c.MaxPositions
	} else {
		mc = model.Config{
			VocabSize: vocab, HiddenSize: c.HiddenSize, NumLayers: c.NumLayers, NumHeads: c.NumHeads,
			IntermediateSize: c.ffn(), RotaryPct: c.RotaryPct, RotaryBase: c.RotaryBase,
			MaxPositionEmbeddings: c.MaxPositions, LayerNormEps: c.LayerNormEps,
			ParallelResidual: c.ParallelResidual, HiddenAct: "gelu",
		}
	}
	mc.BOSTokenID, mc.EOSTokenID = 0, 0
	mc.Attention = sinktoken.Attention(c.Attention)
	if sinkIDs != nil {
		mc.SinkTokens = sinktoken.TokenNames(len(sinkIDs))
		mc.SinkIDs = sinkIDs
	}
	return mc
}

// JSON returns the config as a JSON object (stored in checkpoints).
func (c Config) JSON() json.RawMessage {
	b, _ := json.Marshal(c) // a struct of plain fields always marshals
	return b
}

// modelView returns c's model keys as they define the model: 0 resolved
// (num_kv_heads → num_heads, intermediate_size → 4·D) and, for llama, the
// GPT-NeoX keys at what Llama computes (every dim rotated, sequential
// blocks), so that only differences that change the model count.
func (c Config) modelView() Config {
	c.NumKVHeads, c.IntermediateSize = c.kvHeads(), c.ffn()
	if model.Arch(c.Arch) == model.Llama {
		c.RotaryPct, c.ParallelResidual = 1, false
	}
	if c.Attention == "" {
		c.Attention = string(sinktoken.Softmax)
	}
	return c
}

// modelMismatch compares the model keys of two configs and names the first
// difference, or returns "".
func modelMismatch(a, b Config) string {
	a, b = a.modelView(), b.modelView()
	for _, k := range modelKeys {
		fa, _ := a.field(k)
		fb, _ := b.field(k)
		if !reflect.DeepEqual(fa.Interface(), fb.Interface()) {
			return fmt.Sprintf("%s = %v here but %v in the checkpoint", k, fa.Interface(), fb.Interface())
		}
	}
	return ""
}
