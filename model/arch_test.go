package model

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Tiny config.json files of every family as transformers writes them
// (5.x: rope_parameters; 4.x: rope_theta / rope_scaling).
var familyJSON = map[string]string{
	"llama-gqa": `{"architectures":["LlamaForCausalLM"],"model_type":"llama","vocab_size":64,"hidden_size":32,
		"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"intermediate_size":48,"hidden_act":"silu",
		"rms_norm_eps":1e-6,"tie_word_embeddings":false,"attention_bias":false,"mlp_bias":false,"head_dim":8,
		"rope_parameters":{"rope_theta":10000.0,"rope_type":"default"},"bos_token_id":1,"eos_token_id":2}`,
	"llama3-scaled-v4": `{"model_type":"llama","vocab_size":64,"hidden_size":32,"num_hidden_layers":2,"num_attention_heads":4,
		"num_key_value_heads":1,"intermediate_size":48,"rope_theta":100.0,"tie_word_embeddings":true,
		"rope_scaling":{"factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":64,"rope_type":"llama3"},
		"eos_token_id":[2,3]}`,
	"llama3-scaled-v5": `{"model_type":"llama","vocab_size":64,"hidden_size":32,"num_hidden_layers":2,"num_attention_heads":4,
		"num_key_value_heads":1,"intermediate_size":48,"tie_word_embeddings":true,
		"rope_parameters":{"rope_theta":100.0,"factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":64,"rope_type":"llama3"},
		"eos_token_id":[2,3]}`,
	"llama-linear-v4": `{"model_type":"llama","vocab_size":64,"hidden_size":32,"num_hidden_layers":1,"num_attention_heads":4,
		"intermediate_size":48,"rope_scaling":{"type":"linear","factor":2.0},"attention_bias":true,"mlp_bias":true}`,
	"mistral": `{"architectures":["MistralForCausalLM"],"model_type":"mistral","vocab_size":64,"hidden_size":32,"num_hidden_layers":2,
		"num_attention_heads":4,"num_key_value_heads":2,"intermediate_size":48,"sliding_window":8,"head_dim":8,
		"rope_parameters":{"rope_theta":10000.0,"rope_type":"default"}}`,
	"qwen2": `{"architectures":["Qwen2ForCausalLM"],"model_type":"qwen2","vocab_size":64,"hidden_size":32,"num_hidden_layers":3,
		"num_attention_heads":4,"num_key_value_heads":2,"intermediate_size":48,"use_sliding_window":true,"sliding_window":6,
		"max_window_layers":1,"tie_word_embeddings":true,"rope_theta":1000000.0}`,
	"falcon-mqa": `{"architectures":["FalconForCausalLM"],"model_type":"falcon","vocab_size":64,"hidden_size":32,"num_hidden_layers":2,
		"num_attention_heads":4,"num_kv_heads":4,"multi_query":true,"parallel_attn":true,"new_decoder_architecture":false,
		"bias":false,"alibi":false,"layer_norm_epsilon":1e-5,"rope_theta":10000.0}`,
	"falcon-new": `{"model_type":"falcon","vocab_size":64,"hidden_size":32,"num_hidden_layers":2,"num_attention_heads":4,"num_kv_heads":2,
		"new_decoder_architecture":true,"parallel_attn":true,"bias":true,"ffn_hidden_size":40,"tie_word_embeddings":false,
		"rope_parameters":{"rope_theta":10000.0,"rope_type":"default"}}`,
	"falcon-alibi": `{"model_type":"falcon","vocab_size":64,"hidden_size":32,"num_hidden_layers":2,"n_head":4,"multi_query":false,
		"parallel_attn":false,"alibi":true,"bias":true}`,
	"mpt": `{"architectures":["MptForCausalLM"],"model_type":"mpt","vocab_size":64,"d_model":32,"n_layers":2,"n_heads":4,
		"expansion_ratio":4,"max_seq_len":128,"no_bias":true,"attn_config":{"alibi":true,"alibi_bias_max":8,"clip_qkv":2.5,
		"qk_ln":false,"attn_type":"multihead_attention","softmax_scale":null}}`,
	"mpt-foundry": `{"model_type":"mpt","vocab_size":64,"d_model":24,"n_layers":1,"n_heads":6,"no_bias":false,
		"attn_config":{"qk_ln":true,"alibi_bias_max":16,"softmax_scale":0.3}}`,
}

func parseFamily(t *testing.T, name string) Config {
	t.Helper()
	c, _, err := ParseConfig([]byte(familyJSON[name]))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c
}

// TestFamilyConfigs checks what each family's fields turn into.
func TestFamilyConfigs(t *testing.T) {
	type want struct {
		arch        Arch
		kv, hd, ffn int
		tied        bool
		f           Features
	}
	for name, w := range map[string]want{
		"llama-gqa": {Llama, 2, 8, 48, false, Features{Norm: RMSNorm, MLP: SwiGLUMLP, QKV: QKVSeparate, Positions: RoPE}},
		"llama-linear-v4": {Llama, 4, 8, 48, false, Features{Norm: RMSNorm, MLP: SwiGLUMLP, MLPBias: true, QKV: QKVSeparate,
			QKVBias: true, OutBias: true, Positions: RoPE}},
		"mistral": {Mistral, 2, 8, 48, false, Features{Norm: RMSNorm, MLP: SwiGLUMLP, QKV: QKVSeparate, Positions: RoPE}},
		"qwen2":   {Qwen2, 2, 8, 48, true, Features{Norm: RMSNorm, MLP: SwiGLUMLP, QKV: QKVSeparate, QKVBias: true, Positions: RoPE}},
		"falcon-mqa": {Falcon, 1, 8, 128, true, Features{Norm: LayerNorm, NormBias: true, MLP: GELUMLP, QKV: QKVGrouped,
			SharedNorm: true, Positions: RoPE}},
		"falcon-new": {Falcon, 2, 8, 40, false, Features{Norm: LayerNorm, NormBias: true, MLP: GELUMLP, MLPBias: true,
			QKV: QKVGrouped, QKVBias: true, OutBias: true, Positions: RoPE}},
		"falcon-alibi": {Falcon, 4, 8, 128, true, Features{Norm: LayerNorm, NormBias: true, MLP: GELUMLP, MLPBias: true,
			QKV: QKVPerHead, QKVBias: true, OutBias: true, Positions: ALiBiBloom}},
		"mpt": {MPT, 4, 8, 128, true, Features{Norm: LayerNorm, MLP: GELUMLP, QKV: QKVBlocked, Positions: ALiBi}},
		"mpt-foundry": {MPT, 6, 4, 96, true, Features{Norm: LayerNorm, NormBias: true, MLP: GELUMLP, MLPBias: true,
			QKV: QKVBlocked, QKVBias: true, OutBias: true, QKNorm: true, Positions: ALiBi}},
	} {
		c := parseFamily(t, name)
		if c.Arch != w.arch || c.KVHeads() != w.kv || c.HeadDim() != w.hd || c.IntermediateSize != w.ffn || c.TieWordEmbeddings != w.tied {
			t.Errorf("%s: arch %s kv %d hd %d ffn %d tied %v, want %+v", name, c.Arch, c.KVHeads(), c.HeadDim(), c.IntermediateSize, c.TieWordEmbeddings, w)
		}
		if f := c.Features(); f != w.f {
			t.Errorf("%s: features %+v, want %+v", name, f, w.f)
		}
	}
	m := parseFamily(t, "mistral")
	if m.SlidingWindow != 8 || !m.Sliding(0) || !m.Sliding(1) {
		t.Errorf("mistral: sliding window %d layers %v", m.SlidingWindow, m.SlidingLayers)
	}
	q := parseFamily(t, "qwen2")
	if q.SlidingWindow != 6 || q.Sliding(0) || !q.Sliding(1) || !q.Sliding(2) || q.RotaryBase != 1e6 {
		t.Errorf("qwen2: sliding window %d layers %v theta %v", q.SlidingWindow, q.SlidingLayers, q.RotaryBase)
	}
	mpt := parseFamily(t, "mpt")
	if mpt.ClipQKV != 2.5 || mpt.ALiBiBiasMax != 8 || mpt.BOSTokenID != -1 {
		t.Errorf("mpt: %+v", mpt)
	}
	fo := parseFamily(t, "mpt-foundry")
	if !fo.QKLayerNorm || fo.ALiBiBiasMax != 16 || fo.SoftmaxScale != 0.3 {
		t.Errorf("mpt-foundry: %+v", fo)
	}
}

// TestRopeV4EqualsV5: the same llama3-scaled model described with 4.x and
// 5.x field names parses to the same Config.
func TestRopeV4EqualsV5(t *testing.T) {
	v4, v5 := parseFamily(t, "llama3-scaled-v4"), parseFamily(t, "llama3-scaled-v5")
	if !reflect.DeepEqual(v4, v5) {
		t.Fatalf("4.x %+v\n5.x %+v", v4, v5)
	}
	want := RopeScaling{Type: "llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 64}
	if v5.RopeScaling != want || v5.RotaryBase != 100 || v5.EOSTokenID != 2 || !slices.Equal(v5.EOSTokenIDs, []int{2, 3}) {
		t.Fatalf("parsed %+v", v5)
	}
}

// TestFamilyRoundTrip: HFJSON then ParseConfig gives the config back, for
// every family (sinks and a sink-logit attention included).
func TestFamilyRoundTrip(t *testing.T) {
	for name := range familyJSON {
		c := parseFamily(t, name)
		c.Attention, c.SinkTokens, c.SinkIDs = "sink_logit", []string{"<|sink_0|>"}, []int{5}
		b, err := json.Marshal(c.HFJSON(nil))
		if err != nil {
			t.Fatal(err)
		}
		got, sec, err := ParseConfig(b)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, b)
		}
		if !reflect.DeepEqual(got, c) || sec == nil {
			t.Errorf("%s: round trip\n got %+v\nwant %+v", name, got, c)
		}
	}
}

// TestParamSpecsTables lists, per family, the tensors of layer 0 and the
// globals, names and shapes as transformers' named_parameters() has them.
func TestParamSpecsTables(t *testing.T) {
	for name, want := range map[string]string{
		"llama-gqa": `model.embed_tokens.weight [64 32]
model.layers.0.self_attn.q_proj.weight [32 32]
model.layers.0.self_attn.k_proj.weight [16 32]
model.layers.0.self_attn.v_proj.weight [16 32]
model.layers.0.self_attn.o_proj.weight [32 32]
model.layers.0.mlp.gate_proj.weight [48 32]
model.layers.0.mlp.up_proj.weight [48 32]
model.layers.0.mlp.down_proj.weight [32 48]
model.layers.0.input_layernorm.weight [32]
model.layers.0.post_attention_layernorm.weight [32]
model.norm.weight [32]
lm_head.weight [64 32]`,
		"llama-linear-v4": `model.embed_tokens.weight [64 32]
model.layers.0.self_attn.q_proj.weight [32 32]
model.layers.0.self_attn.q_proj.bias [32]
model.layers.0.self_attn.k_proj.weight [32 32]
model.layers.0.self_attn.k_proj.bias [32]
model.layers.0.self_attn.v_proj.weight [32 32]
model.layers.0.self_attn.v_proj.bias [32]
model.layers.0.self_attn.o_proj.weight [32 32]
model.layers.0.self_attn.o_proj.bias [32]
model.layers.0.mlp.gate_proj.weight [48 32]
model.layers.0.mlp.gate_proj.bias [48]
model.layers.0.mlp.up_proj.weight [48 32]
model.layers.0.mlp.up_proj.bias [48]
model.layers.0.mlp.down_proj.weight [32 48]
model.layers.0.mlp.down_proj.bias [32]
model.layers.0.input_layernorm.weight [32]
model.layers.0.post_attention_layernorm.weight [32]
model.norm.weight [32]
lm_head.weight [64 32]`,
		"qwen2": `model.embed_tokens.weight [64 32]
model.layers.0.self_attn.q_proj.weight [32 32]
model.layers.0.self_attn.q_proj.bias [32]
model.layers.0.self_attn.k_proj.weight [16 32]
model.layers.0.self_attn.k_proj.bias [16]
model.layers.0.self_attn.v_proj.weight [16 32]
model.layers.0.self_attn.v_proj.bias [16]
model.layers.0.self_attn.o_proj.weight [32 32]
model.layers.0.mlp.gate_proj.weight [48 32]
model.layers.0.mlp.up_proj.weight [48 32]
model.layers.0.mlp.down_proj.weight [32 48]
model.layers.0.input_layernorm.weight [32]
model.layers.0.post_attention_layernorm.weight [32]
model.norm.weight [32]`,
		"falcon-mqa": `transformer.word_embeddings.weight [64 32]
transformer.h.0.self_attention.query_key_value.weight [48 32]
transformer.h.0.self_attention.dense.weight [32 32]
transformer.h.0.mlp.dense_h_to_4h.weight [128 32]
transformer.h.0.mlp.dense_4h_to_h.weight [32 128]
transformer.h.0.input_layernorm.weight [32]
transformer.h.0.input_layernorm.bias [32]
transformer.ln_f.weight [32]
transformer.ln_f.bias [32]`,
		"falcon-new": `transformer.word_embeddings.weight [64 32]
transformer.h.0.self_attention.query_key_value.weight [64 32]
transformer.h.0.self_attention.query_key_value.bias [64]
transformer.h.0.self_attention.dense.weight [32 32]
transformer.h.0.self_attention.dense.bias [32]
transformer.h.0.mlp.dense_h_to_4h.weight [40 32]
transformer.h.0.mlp.dense_h_to_4h.bias [40]
transformer.h.0.mlp.dense_4h_to_h.weight [32 40]
transformer.h.0.mlp.dense_4h_to_h.bias [32]
transformer.h.0.ln_attn.weight [32]
transformer.h.0.ln_attn.bias [32]
transformer.h.0.ln_mlp.weight [32]
transformer.h.0.ln_mlp.bias [32]
transformer.ln_f.weight [32]
transformer.ln_f.bias [32]
lm_head.weight [64 32]`,
		"falcon-alibi": `transformer.word_embeddings.weight [64 32]
transformer.h.0.self_attention.query_key_value.weight [96 32]
transformer.h.0.self_attention.query_key_value.bias [96]
transformer.h.0.self_attention.dense.weight [32 32]
transformer.h.0.self_attention.dense.bias [32]
transformer.h.0.mlp.dense_h_to_4h.weight [128 32]
transformer.h.0.mlp.dense_h_to_4h.bias [128]
transformer.h.0.mlp.dense_4h_to_h.weight [32 128]
transformer.h.0.mlp.dense_4h_to_h.bias [32]
transformer.h.0.post_attention_layernorm.weight [32]
transformer.h.0.post_attention_layernorm.bias [32]
transformer.h.0.input_layernorm.weight [32]
transformer.h.0.input_layernorm.bias [32]
transformer.ln_f.weight [32]
transformer.ln_f.bias [32]`,
		"mpt": `transformer.wte.weight [64 32]
transformer.blocks.0.norm_1.weight [32]
transformer.blocks.0.attn.Wqkv.weight [96 32]
transformer.blocks.0.attn.out_proj.weight [32 32]
transformer.blocks.0.norm_2.weight [32]
transformer.blocks.0.ffn.up_proj.weight [128 32]
transformer.blocks.0.ffn.down_proj.weight [32 128]
transformer.norm_f.weight [32]`,
		"mpt-foundry": `transformer.wte.weight [64 24]
transformer.blocks.0.norm_1.weight [24]
transformer.blocks.0.norm_1.bias [24]
transformer.blocks.0.attn.Wqkv.weight [72 24]
transformer.blocks.0.attn.Wqkv.bias [72]
transformer.blocks.0.attn.q_ln.weight [24]
transformer.blocks.0.attn.q_ln.bias [24]
transformer.blocks.0.attn.k_ln.weight [24]
transformer.blocks.0.attn.k_ln.bias [24]
transformer.blocks.0.attn.out_proj.weight [24 24]
transformer.blocks.0.attn.out_proj.bias [24]
transformer.blocks.0.norm_2.weight [24]
transformer.blocks.0.norm_2.bias [24]
transformer.blocks.0.ffn.up_proj.weight [96 24]
transformer.blocks.0.ffn.up_proj.bias [96]
transformer.blocks.0.ffn.down_proj.weight [24 96]
transformer.blocks.0.ffn.down_proj.bias [24]
transformer.norm_f.weight [24]
transformer.norm_f.bias [24]`,
	} {
		c := parseFamily(t, name)
		var lines []string
		for _, s := range c.ParamSpecs() {
			if s.Layer <= 0 {
				lines = append(lines, fmt.Sprintf("%s %v", s.Name, s.Shape))
			}
		}
		if got := strings.Join(lines, "\n"); got != want {
			t.Errorf("%s: tensors\n%s\nwant\n%s", name, got, want)
		}
		if n := c.TensorsPerLayer(); n*c.NumLayers != len(c.ParamSpecs())-strings.Count(want, "\n")-1+n {
			t.Errorf("%s: %d tensors per layer do not add up to %d specs", name, n, len(c.ParamSpecs()))
		}
	}
}

// TestGPTNeoXSpecsUnchanged: the table gives the names of the GPT-NeoX
// constants in their old order (sink logits included).
func TestGPTNeoXSpecsUnchanged(t *testing.T) {
	c := Config{VocabSize: 10, HiddenSize: 8, NumLayers: 2, NumHeads: 2, IntermediateSize: 16,
		RotaryPct: 1, RotaryBase: 10000, LayerNormEps: 1e-5, HiddenAct: "gelu", Attention: "sink_logit"}
	var want []string
	want = append(want, EmbedIn)
	for l := range 2 {
		for _, s := range []string{LN1W, LN1B, LN2W, LN2B, QKVW, QKVB, DenseW, DenseB, SinkLogit, FC1W, FC1B, FC2W, FC2B} {
			want = append(want, LayerPrefix(l)+s)
		}
	}
	want = append(want, FinalNormW, FinalNormB, EmbedOut)
	var got []string
	for _, s := range c.ParamSpecs() {
		got = append(got, s.Name)
		if s.Decay != (len(s.Shape) == 2 && s.Name != EmbedIn) {
			t.Errorf("%s: decay %v", s.Name, s.Decay)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("names\n%v\nwant\n%v", got, want)
	}
	if c.TensorName(AttnQKV, 1) != LayerPrefix(1)+QKVW || c.TensorName(AttnQ, 0) != "" {
		t.Fatalf("TensorName: %q %q", c.TensorName(AttnQKV, 1), c.TensorName(AttnQ, 0))
	}
}

// TestNewLlama: the constructor the training side uses validates, and a
// tied model has no lm_head.
func TestNewLlama(t *testing.T) {
	c := NewLlama(100, 64, 2, 4, 2, 128, true)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.TensorName(Output, -1) != "" || c.KVHeads() != 2 || c.Features().MLP != SwiGLUMLP {
		t.Fatalf("NewLlama: %+v", c)
	}
	w := Init(c, 1)
	if err := w.Check(c); err != nil {
		t.Fatal(err)
	}
	if w.Role(c, AttnNorm, 1).Data[0] != 1 || w.Role(c, FFNDown, 0).Data[0] == 0 {
		t.Fatal("Init: norms not 1 or matrices zero")
	}
}

// TestInvFreq checks the default, linear and llama3 frequencies against the
// formulas evaluated in float64 (transformers computes them in float32: the
// values agree to float32 precision).
func TestInvFreq(t *testing.T) {
	c := parseFamily(t, "llama3-scaled-v5") // hd 8, theta 100, factor 8, low 1, high 4, original 64
	ref := func(i int) float64 {
		f := 1 / math.Pow(100, float64(2*i)/8)
		wave := 2 * math.Pi / f
		switch {
		case wave < 64.0/4:
			return f
		case wave > 64.0/1:
			return f / 8
		}
		s := (64/wave - 1) / (4 - 1)
		return (1-s)*f/8 + s*f
	}
	got := c.InvFreq()
	if len(got) != 4 {
		t.Fatalf("%d frequencies, want 4", len(got))
	}
	kinds := map[string]bool{}
	for i, g := range got {
		if w := ref(i); math.Abs(g-w) > 1e-6*w {
			t.Errorf("llama3 inv_freq[%d] = %.9g, want %.9g", i, g, w)
		}
		f := 1 / math.Pow(100, float64(2*i)/8)
		switch {
		case math.Abs(got[i]-f) < 1e-6*f:
			kinds["kept"] = true
		case math.Abs(got[i]-f/8) < 1e-6*f:
			kinds["scaled"] = true
		default:
			kinds["blended"] = true
		}
	}
	if len(kinds) != 3 {
		t.Errorf("the test frequencies cover %v, want kept, scaled and blended", kinds)
	}
	lin := parseFamily(t, "llama-linear-v4") // hd 8, theta 1e4, factor 2
	for i, g := range lin.InvFreq() {
		if w := 1 / math.Pow(1e4, float64(2*i)/8) / 2; math.Abs(g-w) > 1e-6*w {
			t.Errorf("linear inv_freq[%d] = %.9g, want %.9g", i, g, w)
		}
	}
}

// TestFamilyBadInput: each refusal names its field in one line.
func TestFamilyBadInput(t *testing.T) {
	llama := `"model_type":"llama","vocab_size":64,"hidden_size":32,"num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":48`
	falcon := `"model_type":"falcon","vocab_size":64,"hidden_size":32,"num_hidden_layers":2,"num_attention_heads":4`
	mpt := `"model_type":"mpt","vocab_size":64,"d_model":32,"n_layers":2,"n_heads":4`
	for _, tc := range []struct{ json, want string }{
		{`{"model_type":"gpt2"}`, `model_type "gpt2" is not supported, expected one of "gpt_neox", "llama"`},
		{`{` + llama + `,"num_key_value_heads":3}`, "num_key_value_heads 3 does not divide num_attention_heads 4"},
		{`{` + llama + `,"rope_scaling":{"type":"yarn","factor":2}}`, `rope_scaling.type "yarn" is not supported`},
		{`{` + llama + `,"rope_parameters":{"rope_type":"dynamic","factor":2}}`, `rope_parameters.rope_type "dynamic" is not supported`},
		{`{` + llama + `,"rope_scaling":{"rope_type":"llama3","factor":2}}`, "rope_scaling.low_freq_factor is missing"},
		{`{` + llama + `,"rope_parameters":{"partial_rotary_factor":0.5}}`, "partial_rotary_factor = 0.5"},
		{`{` + llama + `,"hidden_act":"gelu"}`, `hidden_act "gelu" is not supported, expected "silu"`},
		{`{` + llama + `,"rms_norm_eps":0}`, "rms_norm_eps = 0"},
		{`{` + llama + `,"architectures":["MistralForCausalLM"]}`, `architectures [MistralForCausalLM] is not supported for model_type "llama"`},
		{`{` + llama + `,"eos_token_id":"x"}`, "eos_token_id"},
		{`{"model_type":"mistral","vocab_size":64,"hidden_size":32,"num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":48,"layer_types":["full_attention"]}`, "layer_types has 1 entries"},
		{`{"model_type":"qwen2","vocab_size":64,"hidden_size":32,"num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":48,"use_sliding_window":true,"layer_types":["full_attention","chunked_attention"]}`, `layer_types[1] "chunked_attention"`},
		{`{` + falcon + `,"new_decoder_architecture":true,"num_kv_heads":3}`, "num_kv_heads 3 does not divide num_attention_heads 4"},
		{`{` + falcon + `,"multi_query":false,"num_kv_heads":2}`, "num_kv_heads 2 with multi_query and new_decoder_architecture false"},
		{`{` + falcon + `,"new_decoder_architecture":true,"parallel_attn":false}`, "parallel_attn = false with new_decoder_architecture"},
		{`{` + falcon + `,"num_ln_in_parallel_attn":2}`, "num_ln_in_parallel_attn = 2 needs new_decoder_architecture"},
		{`{` + falcon + `,"activation":"relu"}`, `activation "relu" is not supported`},
		{`{` + falcon + `,"layer_norm_epsilon":-1}`, "layer_norm_epsilon = -1"},
		{`{` + mpt + `,"attn_config":{"alibi":false}}`, "attn_config.alibi = false"},
		{`{` + mpt + `,"attn_config":{"attn_type":"grouped_query_attention"}}`, `attn_config.attn_type "grouped_query_attention"`},
		{`{` + mpt + `,"attn_config":{"prefix_lm":true}}`, "attn_config.prefix_lm = true"},
		{`{` + mpt + `,"attn_config":{"clip_qkv":"big"}}`, "attn_config.clip_qkv"},
		{`{` + mpt + `,"logit_scale":"inv_sqrt_d_model"}`, "logit_scale"},
		{`{` + mpt + `,"norm_type":"rmsnorm"}`, `norm_type "rmsnorm"`},
		{`{` + mpt + `,"n_heads":5}`, "d_model 32 is not divisible by n_heads 5"},
		{`{"model_type":"mpt","vocab_size":64,"n_layers":2,"n_heads":4}`, "required field d_model is missing"},
	} {
		_, _, err := ParseConfig([]byte(tc.json))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s:\n error %v\n want one line containing %q", tc.json, err, tc.want)
		}
	}
	// Hand-built configs asking for maths their family does not have.
	c := NewLlama(64, 32, 1, 4, 0, 48, false)
	c.ClipQKV = 1
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "attn_config.clip_qkv is set but is not a field of model_type \"llama\"") {
		t.Errorf("llama with clip_qkv: %v", err)
	}
}
