package model

import (
	"fmt"
	"math"
)

// MPT: MosaicML's architecture (transformers' MptForCausalLM, and
// llm-foundry's original for what transformers leaves out). LayerNorms,
// GELU MLP of expansion_ratio·d_model, one Wqkv projection laid out
// [q | k | v] (QKVBlocked), ALiBi (alibi_bias_max) and no positional
// embedding, sequential blocks, tied head. no_bias (the default) removes
// every linear and LayerNorm bias; clip_qkv clamps the projection; qk_ln
// adds a LayerNorm over each token's whole query and key (llm-foundry; eps
// layer_norm_epsilon); softmax_scale replaces 1/sqrt(hd).
//
// transformers' MptForCausalLM always builds the biasless variant and
// ignores qk_ln: a model with no_bias false or qk_ln true runs here as
// llm-foundry defines it, and transformers would not reproduce it.

func mptSpec() *archSpec {
	return &archSpec{
		arch: MPT, classes: []string{"MptForCausalLM", "MPTForCausalLM"}, tied: true, bos: -1, eos: -1,
		fields: map[string]string{"hidden_size": "d_model", "num_hidden_layers": "n_layers", "num_attention_heads": "n_heads",
			"intermediate_size": "expansion_ratio · d_model", "layer_norm_eps": "layer_norm_epsilon"},
		parse:  parseMPT,
		toJSON: mptJSON,
		validate: func(c Config) error {
			if c.ParallelResidual {
				return fmt.Errorf("a parallel residual is not part of mpt, expected sequential blocks")
			}
			if c.NumKVHeads != 0 && c.NumKVHeads != c.NumHeads {
				return fmt.Errorf("attn_config.kv_n_heads %d is not supported, expected multihead_attention (every head its key and value)", c.NumKVHeads)
			}
			if !(c.ALiBiBiasMax > 0) || c.ClipQKV < 0 || c.SoftmaxScale < 0 || math.IsNaN(c.ClipQKV+c.SoftmaxScale) {
				return fmt.Errorf("attn_config alibi_bias_max %v, clip_qkv %v, softmax_scale %v, expected alibi_bias_max > 0 and the others ≥ 0", c.ALiBiBiasMax, c.ClipQKV, c.SoftmaxScale)
			}
			return c.refuseFields("no_bias", "attn_config.clip_qkv", "attn_config.qk_ln", "attn_config.softmax_scale")
		},
		features: func(c Config) Features {
			return Features{Norm: LayerNorm, NormBias: !c.NoBias, MLP: GELUMLP, MLPBias: !c.NoBias, QKV: QKVBlocked,
				QKVBias: !c.NoBias, OutBias: !c.NoBias, QKNorm: c.QKLayerNorm, Positions: ALiBi}
		},
		table: func(Config) tensorTable { return mptTable },
	}
}

const mptLayer = "transformer.blocks.%d."

var mptTable = tensorTable{
	head: []tensorName{{TokenEmbd, "transformer.wte.weight"}},
	layer: []tensorName{
		{AttnNorm, mptLayer + "norm_1.weight"}, {AttnNormB, mptLayer + "norm_1.bias"},
		{AttnQKV, mptLayer + "attn.Wqkv.weight"}, {AttnQKVB, mptLayer + "attn.Wqkv.bias"},
		{AttnQNorm, mptLayer + "attn.q_ln.weight"}, {AttnQNormB, mptLayer + "attn.q_ln.bias"},
		{AttnKNorm, mptLayer + "attn.k_ln.weight"}, {AttnKNormB, mptLayer + "attn.k_ln.bias"},
		{AttnOut, mptLayer + "attn.out_proj.weight"}, {AttnOutB, mptLayer + "attn.out_proj.bias"},
		{AttnSinks, mptLayer + "attn.sink_logits"},
		{FFNNorm, mptLayer + "norm_2.weight"}, {FFNNormB, mptLayer + "norm_2.bias"},
		{FFNUp, mptLayer + "ffn.up_proj.weight"}, {FFNUpB, mptLayer + "ffn.up_proj.bias"},
		{FFNDown, mptLayer + "ffn.down_proj.weight"}, {FFNDownB, mptLayer + "ffn.down_proj.bias"},
	},
	tail: []tensorName{{OutputNorm, "transformer.norm_f.weight"}, {OutputNormB, "transformer.norm_f.bias"}, {Output, "lm_head.weight"}},
}

func parseMPT(o object, c *Config) error {
	c.LayerNormEps, c.HiddenAct, c.NoBias, c.ALiBiBiasMax = 1e-5, "gelu", true, 8
	for _, r := range []struct {
		name string
		dst  *int
	}{{"vocab_size", &c.VocabSize}, {"d_model", &c.HiddenSize}, {"n_layers", &c.NumLayers}, {"n_heads", &c.NumHeads}} {
		if err := o.require(r.name, r.dst); err != nil {
			return err
		}
	}
	ratio := 4.0
	for _, g := range []struct {
		name string
		dst  any
	}{
		{"expansion_ratio", &ratio}, {"max_seq_len", &c.MaxPositionEmbeddings}, {"layer_norm_epsilon", &c.LayerNormEps},
		{"no_bias", &c.NoBias},
	} {
		if err := o.get(g.name, g.dst); err != nil {
			return err
		}
	}
	c.IntermediateSize = int(math.Round(ratio * float64(c.HiddenSize)))
	if o.has("logit_scale") {
		return fmt.Errorf("logit_scale = %s is not supported, expected null", short(o.m["logit_scale"]))
	}
	var norm string
	if err := o.get("norm_type", &norm); err != nil {
		return err
	}
	if norm != "" && norm != "low_precision_layernorm" && norm != "layernorm" {
		return fmt.Errorf("norm_type %q is not supported, expected \"low_precision_layernorm\" or \"layernorm\"", norm)
	}
	if ffn, ok, err := o.sub("ffn_config"); err != nil {
		return err
	} else if ok {
		var typ string
		if err := ffn.get("ffn_type", &typ); err != nil {
			return err
		}
		if typ != "" && typ != "mptmlp" {
			return fmt.Errorf("ffn_config.ffn_type %q is not supported, expected \"mptmlp\"", typ)
		}
	}
	a, ok, err := o.sub("attn_config")
	if err != nil || !ok {
		return err
	}
	var typ string
	if err := a.get("attn_type", &typ); err != nil {
		return err
	}
	if typ != "" && typ != "multihead_attention" {
		return fmt.Errorf("attn_config.attn_type %q is not supported, expected \"multihead_attention\"", typ)
	}
	alibi := true
	if err := a.get("alibi", &alibi); err != nil {
		return err
	}
	if !alibi {
		return fmt.Errorf("attn_config.alibi = false (learned positional embeddings) is not supported, expected true")
	}
	for _, name := range []string{"prefix_lm", "attn_uses_sequence_id", "qk_gn", "rope"} {
		if err := a.refuseTrue(name, "it changes the attention"); err != nil {
			return err
		}
	}
	if a.has("sliding_window_size") {
		var w int
		if err := a.get("sliding_window_size", &w); err != nil {
			return err
		}
		if w != -1 {
			return fmt.Errorf("attn_config.sliding_window_size = %d is not supported, expected -1", w)
		}
	}
	for _, g := range []struct {
		name string
		dst  any
	}{
		{"clip_qkv", &c.ClipQKV}, {"qk_ln", &c.QKLayerNorm}, {"softmax_scale", &c.SoftmaxScale},
		{"alibi_bias_max", &c.ALiBiBiasMax}, {"kv_n_heads", &c.NumKVHeads},
	} {
		if err := a.get(g.name, g.dst); err != nil {
			return err
		}
	}
	return nil
}

func mptJSON(c Config, m map[string]any) {
	m["d_model"] = c.HiddenSize
	m["n_layers"] = c.NumLayers
	m["n_heads"] = c.NumHeads
	m["expansion_ratio"] = float64(c.IntermediateSize) / float64(c.HiddenSize)
	m["max_seq_len"] = c.MaxPositionEmbeddings
	m["layer_norm_epsilon"] = c.LayerNormEps
	m["no_bias"] = c.NoBias
	m["learned_pos_emb"] = true
	m["logit_scale"] = nil
	m["norm_type"] = "low_precision_layernorm"
	m["emb_pdrop"] = 0.0
	m["resid_pdrop"] = 0.0
	ac := map[string]any{
		"attn_type": "multihead_attention", "alibi": true, "alibi_bias_max": c.ALiBiBiasMax, "attn_pdrop": 0.0,
		"attn_impl": "torch", "clip_qkv": nil, "qk_ln": c.QKLayerNorm, "softmax_scale": nil, "prefix_lm": false,
		"attn_uses_sequence_id": false,
	}
	if c.ClipQKV > 0 {
		ac["clip_qkv"] = c.ClipQKV
	}
	if c.SoftmaxScale > 0 {
		ac["softmax_scale"] = c.SoftmaxScale
	}
	m["attn_config"] = ac
}
