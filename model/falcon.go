package model

import "fmt"

// Falcon: transformers' FalconForCausalLM. LayerNorms with biases, GELU MLP,
// one fused query_key_value projection whose layout depends on the variant:
//   - multi_query (Falcon-7B): [H+2, hd], all queries then one key and one
//     value (QKVGrouped with one group);
//   - new_decoder_architecture (Falcon-40B/180B): [KV, H/KV+2, hd], per
//     group its queries, key and value (QKVGrouped), with ln_attn/ln_mlp when
//     num_ln_in_parallel_attn is 2;
//   - neither (falcon-rw): [H, 3, hd] (QKVPerHead).
//
// parallel_attn: x + attn(ln(x)) + mlp(ln(x)); otherwise sequential with
// post_attention_layernorm. Full RoPE, or BLOOM ALiBi when alibi is set.
// bias adds biases to every linear layer. The head is tied by default.

func falconSpec() *archSpec {
	return &archSpec{
		arch: Falcon, classes: []string{"FalconForCausalLM"}, tied: true, bos: 11, eos: 11,
		fields: map[string]string{"layer_norm_eps": "layer_norm_epsilon", "num_key_value_heads": "num_kv_heads",
			"intermediate_size": "ffn_hidden_size", "hidden_act": "activation", "use_parallel_residual": "parallel_attn",
			"rotary_emb_base (rope_theta)": "rope_parameters.rope_theta (rope_theta)"},
		parse:    parseFalcon,
		toJSON:   falconJSON,
		validate: validateFalcon,
		features: func(c Config) Features {
			f := Features{Norm: LayerNorm, NormBias: true, MLP: GELUMLP, MLPBias: c.Bias, QKV: QKVGrouped,
				QKVBias: c.Bias, OutBias: c.Bias, SharedNorm: c.SharedNorm, Positions: RoPE}
			if !c.NewDecoderArchitecture && c.KVHeads() == c.NumHeads {
				f.QKV = QKVPerHead
			}
			if c.ALiBiBloom {
				f.Positions = ALiBiBloom
			}
			return f
		},
		table: falconTable,
	}
}

func parseFalcon(o object, c *Config) error {
	c.LayerNormEps, c.HiddenAct, c.ParallelResidual = 1e-5, "gelu", true
	multiQuery := true
	kv, nln, ffn := 0, 0, 0
	for _, r := range []struct {
		dst   *int
		names []string
	}{
		{&c.VocabSize, []string{"vocab_size"}}, {&c.HiddenSize, []string{"hidden_size"}},
		{&c.NumLayers, []string{"num_hidden_layers", "n_layer"}}, {&c.NumHeads, []string{"num_attention_heads", "n_head"}},
	} {
		if err := o.requireAny(r.dst, r.names...); err != nil {
			return err
		}
	}
	for _, g := range []struct {
		dst   any
		names []string
	}{
		{&c.LayerNormEps, []string{"layer_norm_epsilon"}}, {&multiQuery, []string{"multi_query"}},
		{&c.NewDecoderArchitecture, []string{"new_decoder_architecture"}}, {&c.ParallelResidual, []string{"parallel_attn"}},
		{&c.Bias, []string{"bias"}}, {&c.ALiBiBloom, []string{"alibi"}}, {&kv, []string{"num_kv_heads", "n_head_kv"}},
		{&nln, []string{"num_ln_in_parallel_attn"}}, {&ffn, []string{"ffn_hidden_size"}},
		{&c.HiddenAct, []string{"activation"}}, {&c.MaxPositionEmbeddings, []string{"max_position_embeddings"}},
	} {
		if err := o.getAny(g.dst, g.names...); err != nil {
			return err
		}
	}
	if err := parseRope(o, c, false, "rope_theta"); err != nil {
		return err
	}
	c.IntermediateSize = 4 * c.HiddenSize
	if ffn != 0 {
		c.IntermediateSize = ffn
	}
	switch {
	case c.NewDecoderArchitecture || !multiQuery:
		c.NumKVHeads = kv // 0: num_attention_heads
	default:
		c.NumKVHeads = 1
	}
	if !c.NewDecoderArchitecture && !multiQuery && kv != 0 && kv != c.NumHeads {
		return fmt.Errorf("num_kv_heads %d with multi_query and new_decoder_architecture false, expected num_attention_heads %d (the [H, 3, hd] layout)", kv, c.NumHeads)
	}
	if c.NewDecoderArchitecture && nln == 0 {
		nln = 2
	}
	switch {
	case !c.ParallelResidual:
		if c.NewDecoderArchitecture {
			return fmt.Errorf("parallel_attn = false with new_decoder_architecture = true is not supported (transformers has no norm for that block), expected true")
		}
	case nln == 2 && !c.NewDecoderArchitecture:
		return fmt.Errorf("num_ln_in_parallel_attn = 2 needs new_decoder_architecture = true, expected 1 or null")
	case nln != 0 && nln != 1 && nln != 2:
		return fmt.Errorf("num_ln_in_parallel_attn = %d, expected 1, 2 or null", nln)
	default:
		c.SharedNorm = nln != 2
	}
	if c.ALiBiBloom && c.RopeScaling.Type != "" {
		return fmt.Errorf("rope_scaling is set but alibi = true replaces RoPE, expected null")
	}
	return nil
}

func falconJSON(c Config, m map[string]any) {
	m["hidden_size"] = c.HiddenSize
	m["num_hidden_layers"] = c.NumLayers
	m["num_attention_heads"] = c.NumHeads
	m["ffn_hidden_size"] = c.IntermediateSize
	m["num_kv_heads"] = c.KVHeads()
	m["multi_query"] = !c.NewDecoderArchitecture && c.KVHeads() == 1 && c.NumHeads > 1
	m["new_decoder_architecture"] = c.NewDecoderArchitecture
	m["parallel_attn"] = c.ParallelResidual
	m["num_ln_in_parallel_attn"] = nil
	if c.NewDecoderArchitecture {
		m["num_ln_in_parallel_attn"] = 2
		if c.SharedNorm {
			m["num_ln_in_parallel_attn"] = 1
		}
	}
	m["bias"] = c.Bias
	m["alibi"] = c.ALiBiBloom
	m["activation"] = c.HiddenAct
	m["layer_norm_epsilon"] = c.LayerNormEps
	m["max_position_embeddings"] = c.MaxPositionEmbeddings
	m["attention_dropout"] = 0.0
	m["hidden_dropout"] = 0.0
	ropeJSON(c, m, false)
}

func validateFalcon(c Config) error {
	if c.NewDecoderArchitecture && !c.ParallelResidual {
		return fmt.Errorf("parallel_attn = false with new_decoder_architecture = true is not supported, expected true")
	}
	if !c.NewDecoderArchitecture && c.KVHeads() != 1 && c.KVHeads() != c.NumHeads {
		return fmt.Errorf("num_kv_heads %d needs new_decoder_architecture = true (without it: 1 with multi_query, or num_attention_heads %d)", c.KVHeads(), c.NumHeads)
	}
	if !c.NewDecoderArchitecture && c.ParallelResidual && !c.SharedNorm {
		return fmt.Errorf("two norms in a parallel block need new_decoder_architecture = true (num_ln_in_parallel_attn = 2)")
	}
	if c.RotaryPct != 1 {
		return fmt.Errorf("partial_rotary_factor %v is not supported for falcon, expected 1", c.RotaryPct)
	}
	return c.refuseFields("bias", "new_decoder_architecture", "num_ln_in_parallel_attn", "alibi", "rope_scaling")
}

// falconTable maps roles to FalconForCausalLM's names; the norms' names
// follow the variant.
func falconTable(c Config) tensorTable {
	const p = "transformer.h.%d."
	norms := []tensorName{{FFNNorm, p + "post_attention_layernorm.weight"}, {FFNNormB, p + "post_attention_layernorm.bias"},
		{AttnNorm, p + "input_layernorm.weight"}, {AttnNormB, p + "input_layernorm.bias"}}
	if c.ParallelResidual && !c.SharedNorm {
		norms = []tensorName{{AttnNorm, p + "ln_attn.weight"}, {AttnNormB, p + "ln_attn.bias"},
			{FFNNorm, p + "ln_mlp.weight"}, {FFNNormB, p + "ln_mlp.bias"}}
	}
	return tensorTable{
		head: []tensorName{{TokenEmbd, "transformer.word_embeddings.weight"}},
		layer: append([]tensorName{
			{AttnQKV, p + "self_attention.query_key_value.weight"}, {AttnQKVB, p + "self_attention.query_key_value.bias"},
			{AttnOut, p + "self_attention.dense.weight"}, {AttnOutB, p + "self_attention.dense.bias"},
			{AttnSinks, p + "self_attention.sink_logits"},
			{FFNUp, p + "mlp.dense_h_to_4h.weight"}, {FFNUpB, p + "mlp.dense_h_to_4h.bias"},
			{FFNDown, p + "mlp.dense_4h_to_h.weight"}, {FFNDownB, p + "mlp.dense_4h_to_h.bias"},
		}, norms...),
		tail: []tensorName{{OutputNorm, "transformer.ln_f.weight"}, {OutputNormB, "transformer.ln_f.bias"}, {Output, "lm_head.weight"}},
	}
}
