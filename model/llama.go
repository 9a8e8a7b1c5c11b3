package model

import "fmt"

// The Llama family: transformers' LlamaForCausalLM, MistralForCausalLM and
// Qwen2ForCausalLM. RMSNorm, SwiGLU MLP, grouped-query attention with
// separate q/k/v projections, full RoPE (rope_theta, rope_scaling linear or
// llama3). Llama may have attention_bias (q, k, v, o) and mlp_bias; Qwen2
// always has q, k, v biases and no o bias; Mistral has none. Mistral and
// Qwen2 may slide their attention window (sliding_window).

// llamaTable maps roles to the family's names (identical for the three).
var llamaTable = tensorTable{
	head: []tensorName{{TokenEmbd, "model.embed_tokens.weight"}},
	layer: []tensorName{
		{AttnQ, "model.layers.%d.self_attn.q_proj.weight"}, {AttnQB, "model.layers.%d.self_attn.q_proj.bias"},
		{AttnK, "model.layers.%d.self_attn.k_proj.weight"}, {AttnKB, "model.layers.%d.self_attn.k_proj.bias"},
		{AttnV, "model.layers.%d.self_attn.v_proj.weight"}, {AttnVB, "model.layers.%d.self_attn.v_proj.bias"},
		{AttnOut, "model.layers.%d.self_attn.o_proj.weight"}, {AttnOutB, "model.layers.%d.self_attn.o_proj.bias"},
		{AttnSinks, "model.layers.%d.self_attn.sink_logits"},
		{FFNGate, "model.layers.%d.mlp.gate_proj.weight"}, {FFNGateB, "model.layers.%d.mlp.gate_proj.bias"},
		{FFNUp, "model.layers.%d.mlp.up_proj.weight"}, {FFNUpB, "model.layers.%d.mlp.up_proj.bias"},
		{FFNDown, "model.layers.%d.mlp.down_proj.weight"}, {FFNDownB, "model.layers.%d.mlp.down_proj.bias"},
		{AttnNorm, "model.layers.%d.input_layernorm.weight"},
		{FFNNorm, "model.layers.%d.post_attention_layernorm.weight"},
	},
	tail: []tensorName{{OutputNorm, "model.norm.weight"}, {Output, "lm_head.weight"}},
}

var llamaClasses = map[Arch]string{Llama: "LlamaForCausalLM", Mistral: "MistralForCausalLM", Qwen2: "Qwen2ForCausalLM"}

// NewLlama returns a Llama description (model_type "llama") with
// transformers' LlamaConfig defaults for everything the arguments do not
// set: RMSNorm eps 1e-6, SiLU, rope_theta 10000, no biases, bos 1, eos 2,
// softmax attention. kvHeads 0 means one per head. The training side builds
// its llama models with it (train.Config keys arch, num_kv_heads,
// tie_embeddings) and sets the rest (RotaryBase, LayerNormEps, sinks) on
// the result.
func NewLlama(vocab, hidden, layers, heads, kvHeads, ffn int, tied bool) Config {
	return Config{
		Arch: Llama, VocabSize: vocab, HiddenSize: hidden, NumLayers: layers, NumHeads: heads, NumKVHeads: kvHeads,
		IntermediateSize: ffn, RotaryPct: 1, RotaryBase: 10000, MaxPositionEmbeddings: 2048, LayerNormEps: 1e-6,
		HiddenAct: "silu", TieWordEmbeddings: tied, BOSTokenID: 1, EOSTokenID: 2, Attention: "softmax",
	}
}

func llamaSpec(a Arch) *archSpec {
	s := &archSpec{
		arch: a, classes: []string{llamaClasses[a]}, bos: 1, eos: 2,
		fields: map[string]string{"layer_norm_eps": "rms_norm_eps", "rotary_emb_base (rope_theta)": "rope_parameters.rope_theta (rope_theta)"},
		features: func(c Config) Features {
			f := Features{Norm: RMSNorm, MLP: SwiGLUMLP, MLPBias: c.MLPBias, QKV: QKVSeparate,
				QKVBias: c.AttentionBias, OutBias: c.AttentionBias, Positions: RoPE}
			if c.Arch == Qwen2 {
				f.QKVBias = true
			}
			return f
		},
		table: func(Config) tensorTable { return llamaTable },
	}
	if a == Qwen2 {
		s.bos, s.eos = -1, -1
	}
	s.parse = func(o object, c *Config) error {
		c.LayerNormEps, c.HiddenAct = 1e-6, "silu"
		if err := requireShape(o, c); err != nil {
			return err
		}
		if err := parseRope(o, c, false, "rope_theta"); err != nil {
			return err
		}
		for _, g := range []struct {
			name string
			dst  any
		}{
			{"num_key_value_heads", &c.NumKVHeads}, {"head_dim", &c.HeadSize}, {"max_position_embeddings", &c.MaxPositionEmbeddings},
			{"rms_norm_eps", &c.LayerNormEps}, {"hidden_act", &c.HiddenAct},
		} {
			if err := o.get(g.name, g.dst); err != nil {
				return err
			}
		}
		switch a {
		case Llama:
			if err := o.get("attention_bias", &c.AttentionBias); err != nil {
				return err
			}
			return o.get("mlp_bias", &c.MLPBias)
		case Mistral:
			c.SlidingWindow = 4096 // MistralConfig's default
			if err := o.get("sliding_window", &c.SlidingWindow); err != nil {
				return err
			}
			if o.m["sliding_window"] != nil && !o.has("sliding_window") {
				c.SlidingWindow = 0 // null: no window
			}
		case Qwen2:
			use := false
			if err := o.get("use_sliding_window", &use); err != nil {
				return err
			}
			if !use {
				return nil // transformers drops the window (and the layer types) without use_sliding_window
			}
			c.SlidingWindow = 4096
			if err := o.get("sliding_window", &c.SlidingWindow); err != nil {
				return err
			}
			from := 28
			if err := o.get("max_window_layers", &from); err != nil {
				return err
			}
			c.SlidingLayers = make([]bool, c.NumLayers)
			for l := range c.SlidingLayers {
				c.SlidingLayers[l] = l >= from
			}
		}
		return parseLayerTypes(o, c)
	}
	s.toJSON = func(c Config, m map[string]any) {
		shapeJSON(c, m)
		ropeJSON(c, m, false)
		m["num_key_value_heads"] = c.KVHeads()
		m["head_dim"] = c.HeadDim()
		m["max_position_embeddings"] = c.MaxPositionEmbeddings
		m["rms_norm_eps"] = c.LayerNormEps
		m["hidden_act"] = c.HiddenAct
		m["attention_dropout"] = 0.0
		switch c.Arch {
		case Llama:
			m["attention_bias"] = c.AttentionBias
			m["mlp_bias"] = c.MLPBias
			m["pretraining_tp"] = 1
		case Mistral:
			m["sliding_window"] = nil
			if c.SlidingWindow > 0 {
				m["sliding_window"] = c.SlidingWindow
			}
		case Qwen2:
			m["use_sliding_window"] = c.SlidingWindow > 0
			m["sliding_window"] = nil
			m["max_window_layers"] = c.NumLayers
			if c.SlidingWindow > 0 {
				m["sliding_window"] = c.SlidingWindow
				m["max_window_layers"] = 0
			}
		}
		if c.SlidingWindow > 0 {
			types := make([]string, c.NumLayers)
			for l := range types {
				types[l] = "full_attention"
				if c.Sliding(l) {
					types[l] = "sliding_attention"
				}
			}
			m["layer_types"] = types
			if c.Arch == Qwen2 && c.SlidingLayers != nil {
				// max_window_layers: the first sliding layer (4.x reads it, 5.x reads layer_types).
				for l := range c.SlidingLayers {
					if c.SlidingLayers[l] {
						m["max_window_layers"] = l
						break
					}
				}
			}
		}
	}
	s.validate = func(c Config) error {
		allowed := []string{"head_dim", "rope_scaling"}
		switch c.Arch {
		case Llama:
			allowed = append(allowed, "attention_bias", "mlp_bias")
		case Mistral, Qwen2:
			allowed = append(allowed, "sliding_window")
		}
		if c.RotaryPct != 1 {
			return fmt.Errorf("partial_rotary_factor %v is not supported for model_type %q, expected 1 (full rotary)", c.RotaryPct, string(c.Arch))
		}
		if c.ParallelResidual {
			return fmt.Errorf("a parallel residual is not part of model_type %q, expected sequential blocks", string(c.Arch))
		}
		return c.refuseFields(allowed...)
	}
	return s
}

// parseLayerTypes reads transformers 5's layer_types ("full_attention" or
// "sliding_attention" per layer), which wins over the 4.x fields.
func parseLayerTypes(o object, c *Config) error {
	var types []string
	if err := o.get("layer_types", &types); err != nil || types == nil {
		return err
	}
	if len(types) != c.NumLayers {
		return fmt.Errorf("layer_types has %d entries, expected num_hidden_layers = %d", len(types), c.NumLayers)
	}
	sliding := make([]bool, len(types))
	any := false
	for l, t := range types {
		switch t {
		case "full_attention":
		case "sliding_attention":
			sliding[l], any = true, true
		default:
			return fmt.Errorf("layer_types[%d] %q is not supported, expected \"full_attention\" or \"sliding_attention\"", l, t)
		}
	}
	if !any {
		c.SlidingWindow, c.SlidingLayers = 0, nil
		return nil
	}
	if c.SlidingWindow <= 0 {
		if err := o.require("sliding_window", &c.SlidingWindow); err != nil {
			return err
		}
	}
	c.SlidingLayers = sliding
	return nil
}
