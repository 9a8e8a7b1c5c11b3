package model

import "fmt"

// GPT-NeoX (Pythia): transformers' GPTNeoXForCausalLM. LayerNorms with
// biases, GELU MLP with biases, fused per-head qkv with bias, partial RoPE,
// parallel or sequential residual, untied head.

// gptNeoXTable maps roles to GPTNeoXForCausalLM's names.
var gptNeoXTable = tensorTable{
	head: []tensorName{{TokenEmbd, EmbedIn}},
	layer: []tensorName{
		{AttnNorm, "gpt_neox.layers.%d." + LN1W}, {AttnNormB, "gpt_neox.layers.%d." + LN1B},
		{FFNNorm, "gpt_neox.layers.%d." + LN2W}, {FFNNormB, "gpt_neox.layers.%d." + LN2B},
		{AttnQKV, "gpt_neox.layers.%d." + QKVW}, {AttnQKVB, "gpt_neox.layers.%d." + QKVB},
		{AttnOut, "gpt_neox.layers.%d." + DenseW}, {AttnOutB, "gpt_neox.layers.%d." + DenseB},
		{AttnSinks, "gpt_neox.layers.%d." + SinkLogit},
		{FFNUp, "gpt_neox.layers.%d." + FC1W}, {FFNUpB, "gpt_neox.layers.%d." + FC1B},
		{FFNDown, "gpt_neox.layers.%d." + FC2W}, {FFNDownB, "gpt_neox.layers.%d." + FC2B},
	},
	tail: []tensorName{{OutputNorm, FinalNormW}, {OutputNormB, FinalNormB}, {Output, EmbedOut}},
}

func gptNeoXSpec() *archSpec {
	return &archSpec{
		arch: GPTNeoX, classes: []string{"GPTNeoXForCausalLM"}, bos: 0, eos: 2,
		parse: func(o object, c *Config) error {
			c.RotaryPct, c.LayerNormEps, c.ParallelResidual, c.HiddenAct = 0.25, 1e-5, true, "gelu"
			if err := requireShape(o, c); err != nil {
				return err
			}
			if err := parseRope(o, c, true, "rotary_emb_base"); err != nil {
				return err
			}
			bias := true
			if err := o.get("attention_bias", &bias); err != nil {
				return err
			}
			if !bias {
				return fmt.Errorf("attention_bias = false is not supported for gpt_neox, expected true")
			}
			for _, g := range []struct {
				name string
				dst  any
			}{
				{"max_position_embeddings", &c.MaxPositionEmbeddings}, {"layer_norm_eps", &c.LayerNormEps},
				{"use_parallel_residual", &c.ParallelResidual}, {"hidden_act", &c.HiddenAct},
			} {
				if err := o.get(g.name, g.dst); err != nil {
					return err
				}
			}
			return nil
		},
		toJSON: func(c Config, m map[string]any) {
			shapeJSON(c, m)
			ropeJSON(c, m, true)
			m["rotary_pct"] = c.RotaryPct
			m["rotary_emb_base"] = c.RotaryBase
			m["max_position_embeddings"] = c.MaxPositionEmbeddings
			m["layer_norm_eps"] = c.LayerNormEps
			m["use_parallel_residual"] = c.ParallelResidual
			m["hidden_act"] = c.HiddenAct
			m["attention_bias"] = true
			m["attention_dropout"] = 0.0
			m["hidden_dropout"] = 0.0
		},
		validate: func(c Config) error {
			if c.TieWordEmbeddings {
				return fmt.Errorf("tie_word_embeddings = true is not supported, expected false (GPT-NeoX)")
			}
			if c.NumKVHeads != 0 && c.NumKVHeads != c.NumHeads {
				return fmt.Errorf("num_key_value_heads %d is not a gpt_neox field, expected every head to have its key and value", c.NumKVHeads)
			}
			return c.refuseFields("rope_scaling")
		},
		features: func(Config) Features {
			return Features{Norm: LayerNorm, NormBias: true, MLP: GELUMLP, MLPBias: true, QKV: QKVPerHead,
				QKVBias: true, OutBias: true, Positions: RoPE}
		},
		table: func(Config) tensorTable { return gptNeoXTable },
	}
}

// requireShape reads the five shape fields under their common names
// (vocab_size, hidden_size, num_hidden_layers, num_attention_heads,
// intermediate_size).
func requireShape(o object, c *Config) error {
	for _, r := range []struct {
		name string
		dst  *int
	}{
		{"vocab_size", &c.VocabSize}, {"hidden_size", &c.HiddenSize}, {"num_hidden_layers", &c.NumLayers},
		{"num_attention_heads", &c.NumHeads}, {"intermediate_size", &c.IntermediateSize},
	} {
		if err := o.require(r.name, r.dst); err != nil {
			return err
		}
	}
	return nil
}

// shapeJSON writes the common shape fields.
func shapeJSON(c Config, m map[string]any) {
	m["hidden_size"] = c.HiddenSize
	m["num_hidden_layers"] = c.NumLayers
	m["num_attention_heads"] = c.NumHeads
	m["intermediate_size"] = c.IntermediateSize
}
