package model

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/sinktrain/sinktrain/sinktoken"
)

// Config describes one decoder of a supported family (Arch) with the fields
// of its Hugging Face config, plus the sink settings sinktrain adds. The
// shared fields come first; family fields are read only for their family
// (Features translates them into the maths the building blocks run).
type Config struct {
	// Arch is config.json's model_type; "" means GPT-NeoX.
	Arch Arch

	VocabSize        int // V
	HiddenSize       int // D
	NumLayers        int // L
	NumHeads         int // H
	NumKVHeads       int // KV key/value heads (grouped-query attention); 0 means H; divides H
	HeadSize         int // hd when set (Llama family head_dim); 0 means D/H, which must then divide
	IntermediateSize int // F, the MLP width

	RotaryPct             float64     // fraction of each head's dims rotated, in (0, 1] (GPT-NeoX; 1 for the others)
	RotaryBase            float64     // RoPE theta
	RopeScaling           RopeScaling // rope_scaling: none, linear or llama3
	MaxPositionEmbeddings int
	LayerNormEps          float64 // eps of every norm (LayerNorm or RMSNorm)
	ParallelResidual      bool    // x + attn(n1(x)) + mlp(n2(x)) (Pythia, Falcon parallel_attn)
	HiddenAct             string  // "gelu" (exact erf) for GPT-NeoX, Falcon, MPT; "silu" for the Llama family
	TieWordEmbeddings     bool    // the LM head is the token embedding (lm_head.weight absent)
	BOSTokenID            int     // -1 when the config has none
	EOSTokenID            int     // -1 when the config has none
	EOSTokenIDs           []int   // every end id when config.json lists several (EOSTokenID is the first)

	// Llama family (llama, mistral, qwen2).
	AttentionBias bool   // llama attention_bias: q, k, v and o projections have biases (qwen2 has q, k, v biases always)
	MLPBias       bool   // llama mlp_bias
	SlidingWindow int    // mistral/qwen2: a key at cache distance ≥ SlidingWindow is masked; 0: none
	SlidingLayers []bool // [L] which layers slide (qwen2 layer_types); nil: all, when SlidingWindow > 0

	// Falcon.
	Bias                   bool // falcon bias: every linear layer has a bias
	NewDecoderArchitecture bool // grouped kv layout (num_kv_heads), ln_attn/ln_mlp
	SharedNorm             bool // parallel block with one norm (parallel_attn of the old architecture, num_ln_in_parallel_attn 1)
	ALiBiBloom             bool // falcon alibi (falcon-rw): BLOOM ALiBi instead of RoPE

	// MPT.
	NoBias       bool    // no_bias: no linear or LayerNorm biases
	ClipQKV      float64 // attn_config.clip_qkv: q, k, v clamped to [−c, c]; 0: none
	QKLayerNorm  bool    // attn_config.qk_ln: LayerNorm over each token's query and key
	ALiBiBiasMax float64 // attn_config.alibi_bias_max
	SoftmaxScale float64 // attn_config.softmax_scale; 0: 1/sqrt(hd)

	// Attention is the softmax variant (sinktoken.Softmax, Softmax1, SinkLogit).
	Attention sinktoken.Attention
	// SinkTokens are the sink token strings, SinkIDs their ids (same length).
	SinkTokens []string
	SinkIDs    []int
}

// HeadDim returns hd: HeadSize when set, else D/H.
func (c Config) HeadDim() int {
	if c.HeadSize > 0 {
		return c.HeadSize
	}
	if c.NumHeads <= 0 {
		return 0
	}
	return c.HiddenSize / c.NumHeads
}

// KVHeads returns the number of key/value heads (NumKVHeads, or H).
func (c Config) KVHeads() int {
	if c.NumKVHeads > 0 {
		return c.NumKVHeads
	}
	return c.NumHeads
}

// RotaryDims returns int(HeadDim · RotaryPct), the number of rotated dims per head.
func (c Config) RotaryDims() int { return int(float64(c.HeadDim()) * c.RotaryPct) }

// Sliding reports whether layer l masks keys beyond SlidingWindow.
func (c Config) Sliding(l int) bool {
	if c.SlidingWindow <= 0 {
		return false
	}
	return c.SlidingLayers == nil || (l < len(c.SlidingLayers) && c.SlidingLayers[l])
}

// Validate checks every field and returns one error naming the first bad field
// (as the family's config.json spells it) and what was expected.
func (c Config) Validate() error {
	s, err := specOf(c.Arch)
	if err != nil {
		return err
	}
	pos := []struct {
		name string
		v    int
	}{
		{"vocab_size", c.VocabSize}, {"hidden_size", c.HiddenSize}, {"num_hidden_layers", c.NumLayers},
		{"num_attention_heads", c.NumHeads}, {"intermediate_size", c.IntermediateSize},
	}
	for _, p := range pos {
		if p.v <= 0 {
			return fmt.Errorf("%s = %d, expected a positive integer", s.field(p.name), p.v)
		}
	}
	if c.HeadSize < 0 {
		return fmt.Errorf("head_dim = %d, expected a positive integer", c.HeadSize)
	}
	if c.HeadSize == 0 && c.HiddenSize%c.NumHeads != 0 {
		return fmt.Errorf("%s %d is not divisible by %s %d", s.field("hidden_size"), c.HiddenSize, s.field("num_attention_heads"), c.NumHeads)
	}
	if c.NumKVHeads < 0 || (c.NumKVHeads > 0 && c.NumHeads%c.NumKVHeads != 0) {
		return fmt.Errorf("%s %d does not divide %s %d, expected a divisor (grouped-query attention)", s.field("num_key_value_heads"), c.NumKVHeads, s.field("num_attention_heads"), c.NumHeads)
	}
	f := s.features(c)
	if f.Positions == RoPE {
		if err := c.validateRope(s); err != nil {
			return err
		}
	}
	if !(c.LayerNormEps > 0) {
		return fmt.Errorf("%s = %v, expected > 0", s.field("layer_norm_eps"), c.LayerNormEps)
	}
	want := "gelu"
	if f.MLP == SwiGLUMLP {
		want = "silu"
	}
	if c.HiddenAct != want {
		return fmt.Errorf("%s %q is not supported, expected %q", s.field("hidden_act"), c.HiddenAct, want)
	}
	if c.SlidingWindow < 0 || (c.SlidingLayers != nil && len(c.SlidingLayers) != c.NumLayers) {
		return fmt.Errorf("sliding_window %d with %d layer types for %d layers, expected a window ≥ 0 and one type per layer", c.SlidingWindow, len(c.SlidingLayers), c.NumLayers)
	}
	if c.SharedNorm && !c.ParallelResidual {
		return fmt.Errorf("one shared norm needs a parallel block (%s = false)", s.field("use_parallel_residual"))
	}
	if err := s.validate(c); err != nil {
		return err
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

// refuseFields returns an error naming the first family field of another
// family that is set in c (a hand-built Config that asks for maths its
// family does not have).
func (c Config) refuseFields(allowed ...string) error {
	set := []struct {
		name string
		on   bool
	}{
		{"attention_bias", c.AttentionBias}, {"mlp_bias", c.MLPBias}, {"sliding_window", c.SlidingWindow != 0},
		{"bias", c.Bias}, {"new_decoder_architecture", c.NewDecoderArchitecture}, {"num_ln_in_parallel_attn", c.SharedNorm},
		{"alibi", c.ALiBiBloom}, {"no_bias", c.NoBias}, {"attn_config.clip_qkv", c.ClipQKV != 0},
		{"attn_config.qk_ln", c.QKLayerNorm}, {"attn_config.softmax_scale", c.SoftmaxScale != 0},
		{"head_dim", c.HeadSize != 0}, {"rope_scaling", c.RopeScaling.Type != ""},
	}
	for _, f := range set {
		if f.on && !slices.Contains(allowed, f.name) {
			return fmt.Errorf("%s is set but is not a field of model_type %q", f.name, string(c.Arch.orDefault()))
		}
	}
	return nil
}

// SinktrainSection is the "sinktrain" object sinktrain adds to config.json.
// Train holds the training configuration verbatim (owned by package train).
type SinktrainSection struct {
	SinkTokens []string            `json:"sink_tokens"`
	SinkIDs    []int               `json:"sink_ids"`
	Attention  sinktoken.Attention `json:"attention"`
	Train      json.RawMessage     `json:"train,omitempty"`
}
