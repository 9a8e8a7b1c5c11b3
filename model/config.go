package model

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/sinktrain/sinktrain/internal/input"
	"github.com/sinktrain/sinktrain/sinktoken"
)

// Config describes a GPT-NeoX decoder exactly as Hugging Face's
// GPTNeoXConfig does, plus the sink settings sinktrain adds.
type Config struct {
	VocabSize             int     // V
	HiddenSize            int     // D
	NumLayers             int     // L
	NumHeads              int     // H; D must be divisible by H
	IntermediateSize      int     // F, the MLP width
	RotaryPct             float64 // fraction of each head's dims rotated, in (0, 1]
	RotaryBase            float64 // RoPE theta
	MaxPositionEmbeddings int
	LayerNormEps          float64
	ParallelResidual      bool   // Pythia: x + attn(ln1(x)) + mlp(ln2(x))
	HiddenAct             string // only "gelu" (exact erf form) is supported
	TieWordEmbeddings     bool   // must be false (GPT-NeoX keeps embed_out separate)
	BOSTokenID            int
	EOSTokenID            int

	// Attention is the softmax variant (sinktoken.Softmax, Softmax1, SinkLogit).
	Attention sinktoken.Attention
	// SinkTokens are the sink token strings, SinkIDs their ids (same length).
	SinkTokens []string
	SinkIDs    []int
}

// HeadDim returns D/H.
func (c Config) HeadDim() int { return c.HiddenSize / c.NumHeads }

// RotaryDims returns int(HeadDim · RotaryPct), the number of rotated dims per head.
func (c Config) RotaryDims() int { return int(float64(c.HeadDim()) * c.RotaryPct) }

// Validate checks every field and returns one error naming the first bad field
// and what was expected.
func (c Config) Validate() error {
	pos := []struct {
		name string
		v    int
	}{
		{"vocab_size", c.VocabSize}, {"hidden_size", c.HiddenSize}, {"num_hidden_layers", c.NumLayers},
		{"num_attention_heads", c.NumHeads}, {"intermediate_size", c.IntermediateSize},
	}
	for _, p := range pos {
		if p.v <= 0 {
			return fmt.Errorf("%s = %d, expected a positive integer", p.name, p.v)
		}
	}
	if c.HiddenSize%c.NumHeads != 0 {
		return fmt.Errorf("hidden_size %d is not divisible by num_attention_heads %d", c.HiddenSize, c.NumHeads)
	}
	if !(c.RotaryPct > 0 && c.RotaryPct <= 1) || math.IsNaN(c.RotaryPct) {
		return fmt.Errorf("rotary_pct (partial_rotary_factor) = %v, expected a value in (0, 1]", c.RotaryPct)
	}
	if r := c.RotaryDims(); r < 2 || r%2 != 0 {
		return fmt.Errorf("rotary dims int(head_dim %d * rotary_pct %v) = %d, expected an even number >= 2", c.HeadDim(), c.RotaryPct, r)
	}
	if !(c.RotaryBase > 0) {
		return fmt.Errorf("rotary_emb_base (rope_theta) = %v, expected > 0", c.RotaryBase)
	}
	if !(c.LayerNormEps > 0) {
		return fmt.Errorf("layer_norm_eps = %v, expected > 0", c.LayerNormEps)
	}
	if c.HiddenAct != "gelu" {
		return fmt.Errorf("hidden_act %q is not supported, expected \"gelu\"", c.HiddenAct)
	}
	if c.TieWordEmbeddings {
		return fmt.Errorf("tie_word_embeddings = true is not supported, expected false (GPT-NeoX)")
	}
	if err := c.Attention.Validate(); err != nil {
		return err
	}
	if len(c.SinkTokens) != len(c.SinkIDs) {
		return fmt.Errorf("sinktrain.sink_tokens has %d entries but sink_ids has %d, expected equal", len(c.SinkTokens), len(c.SinkIDs))
	}
	for i, id := range c.SinkIDs {
		if id < 0 || id >= c.VocabSize {
			return fmt.Errorf("sinktrain.sink_ids[%d] = %d, expected an id in [0, %d)", i, id, c.VocabSize)
		}
	}
	return nil
}

// hfConfig mirrors the config.json fields we read. Pointers tell a missing
// field from a zero one.
type hfConfig struct {
	ModelType             string            `json:"model_type"`
	Architectures         []string          `json:"architectures"`
	VocabSize             *int              `json:"vocab_size"`
	HiddenSize            *int              `json:"hidden_size"`
	NumLayers             *int              `json:"num_hidden_layers"`
	NumHeads              *int              `json:"num_attention_heads"`
	IntermediateSize      *int              `json:"intermediate_size"`
	RotaryPct             *float64          `json:"rotary_pct"`
	RotaryEmbBase         *float64          `json:"rotary_emb_base"`
	RopeParameters        *ropeParameters   `json:"rope_parameters"`
	MaxPositionEmbeddings *int              `json:"max_position_embeddings"`
	LayerNormEps          *float64          `json:"layer_norm_eps"`
	UseParallelResidual   *bool             `json:"use_parallel_residual"`
	HiddenAct             *string           `json:"hidden_act"`
	TieWordEmbeddings     *bool             `json:"tie_word_embeddings"`
	BOSTokenID            *int              `json:"bos_token_id"`
	EOSTokenID            *int              `json:"eos_token_id"`
	Sinktrain             *SinktrainSection `json:"sinktrain"`
}

type ropeParameters struct {
	PartialRotaryFactor *float64 `json:"partial_rotary_factor"`
	RopeTheta           *float64 `json:"rope_theta"`
	RopeType            string   `json:"rope_type"`
}

// SinktrainSection is the "sinktrain" object sinktrain adds to config.json.
// Train holds the training configuration verbatim (owned by package train).
type SinktrainSection struct {
	SinkTokens []string            `json:"sink_tokens"`
	SinkIDs    []int               `json:"sink_ids"`
	Attention  sinktoken.Attention `json:"attention"`
	Train      json.RawMessage     `json:"train,omitempty"`
}

// ParseConfig parses a Hugging Face GPT-NeoX config.json (transformers 4.x
// classic fields or 5.x rope_parameters), applies HF's defaults for missing
// optional fields, and validates the result. Unknown HF keys are ignored, as
// transformers does.
func ParseConfig(b []byte) (Config, *SinktrainSection, error) {
	var h hfConfig
	if err := json.Unmarshal(b, &h); err != nil {
		return Config{}, nil, input.JSON(err)
	}
	if h.ModelType != "gpt_neox" {
		return Config{}, nil, fmt.Errorf("model_type %q is not supported, expected \"gpt_neox\"", h.ModelType)
	}
	c := Config{
		// transformers GPTNeoXConfig defaults for optional fields.
		RotaryPct: 0.25, RotaryBase: 10000, MaxPositionEmbeddings: 2048, LayerNormEps: 1e-5,
		ParallelResidual: true, HiddenAct: "gelu", BOSTokenID: 0, EOSTokenID: 2,
		Attention: sinktoken.Softmax,
	}
	type required struct {
		name string
		p    *int
		dst  *int
	}
	req := []required{
		{"vocab_size", h.VocabSize, &c.VocabSize},
		{"hidden_size", h.HiddenSize, &c.HiddenSize},
		{"num_hidden_layers", h.NumLayers, &c.NumLayers},
		{"num_attention_heads", h.NumHeads, &c.NumHeads},
		{"intermediate_size", h.IntermediateSize, &c.IntermediateSize},
	}
	for _, r := range req {
		if r.p == nil {
			return Config{}, nil, fmt.Errorf("required field %s is missing", r.name)
		}
		*r.dst = *r.p
	}
	if h.RotaryPct != nil {
		c.RotaryPct = *h.RotaryPct
	}
	if h.RotaryEmbBase != nil {
		c.RotaryBase = *h.RotaryEmbBase
	}
	if rp := h.RopeParameters; rp != nil {
		if rp.RopeType != "" && rp.RopeType != "default" {
			return Config{}, nil, fmt.Errorf("rope_parameters.rope_type %q is not supported, expected \"default\"", rp.RopeType)
		}
		if rp.PartialRotaryFactor != nil {
			c.RotaryPct = *rp.PartialRotaryFactor
		}
		if rp.RopeTheta != nil {
			c.RotaryBase = *rp.RopeTheta
		}
	}
	if h.MaxPositionEmbeddings != nil {
		c.MaxPositionEmbeddings = *h.MaxPositionEmbeddings
	}
	if h.LayerNormEps != nil {
		c.LayerNormEps = *h.LayerNormEps
	}
	if h.UseParallelResidual != nil {
		c.ParallelResidual = *h.UseParallelResidual
	}
	if h.HiddenAct != nil {
		c.HiddenAct = *h.HiddenAct
	}
	if h.TieWordEmbeddings != nil {
		c.TieWordEmbeddings = *h.TieWordEmbeddings
	}
	if h.BOSTokenID != nil {
		c.BOSTokenID = *h.BOSTokenID
	}
	if h.EOSTokenID != nil {
		c.EOSTokenID = *h.EOSTokenID
	}
	if s := h.Sinktrain; s != nil {
		c.SinkTokens, c.SinkIDs = s.SinkTokens, s.SinkIDs
		if s.Attention != "" {
			c.Attention = s.Attention
		}
	}
	if err := c.Validate(); err != nil {
		return Config{}, nil, err
	}
	return c, h.Sinktrain, nil
}

// HFJSON returns the config as a Hugging Face config.json object (written
// with both the transformers 5 rope_parameters and the classic 4.x field
// names so that either version loads it). The sinktrain section is added
// when the model has sinks, a non-default attention, or train is non-nil.
func (c Config) HFJSON(train json.RawMessage) map[string]any {
	m := map[string]any{
		"architectures":           []string{"GPTNeoXForCausalLM"},
		"model_type":              "gpt_neox",
		"vocab_size":              c.VocabSize,
		"hidden_size":             c.HiddenSize,
		"num_hidden_layers":       c.NumLayers,
		"num_attention_heads":     c.NumHeads,
		"intermediate_size":       c.IntermediateSize,
		"rotary_pct":              c.RotaryPct,
		"rotary_emb_base":         c.RotaryBase,
		"rope_parameters":         map[string]any{"partial_rotary_factor": c.RotaryPct, "rope_theta": c.RotaryBase, "rope_type": "default"},
		"max_position_embeddings": c.MaxPositionEmbeddings,
		"layer_norm_eps":          c.LayerNormEps,
		"use_parallel_residual":   c.ParallelResidual,
		"hidden_act":              c.HiddenAct,
		"tie_word_embeddings":     false,
		"bos_token_id":            c.BOSTokenID,
		"eos_token_id":            c.EOSTokenID,
		"attention_bias":          true,
		"attention_dropout":       0.0,
		"hidden_dropout":          0.0,
		"initializer_range":       0.02,
		"use_cache":               true,
		"dtype":                   "float32",
	}
	if len(c.SinkIDs) > 0 || (c.Attention != "" && c.Attention != sinktoken.Softmax) || train != nil {
		att := c.Attention
		if att == "" {
			att = sinktoken.Softmax
		}
		m["sinktrain"] = SinktrainSection{SinkTokens: c.SinkTokens, SinkIDs: c.SinkIDs, Attention: att, Train: train}
	}
	return m
}
