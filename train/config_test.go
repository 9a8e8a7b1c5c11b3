package train

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/model"
	"github.com/sinktrain/sinktrain/sinktoken"
)

func TestPresetsValidate(t *testing.T) {
	for _, p := range []string{"tiny", "small", "reference", "laptop-study", "tiny-llama", "laptop-study-llama", "reference-llama"} {
		if _, err := Resolve(Defaults(), p, nil); err != nil {
			t.Errorf("preset %s: %v", p, err)
		}
	}
	c, _ := Resolve(Defaults(), "reference", nil)
	if c.HiddenSize != 256 || c.NumLayers != 4 || c.NumHeads != 4 || c.Model(4096, nil).IntermediateSize != 1024 ||
		c.BlockSize != 256 || c.Batch != 32 || c.LR != 1e-3 || c.Betas != [2]float64{0.9, 0.95} || c.Warmup != 100 {
		t.Errorf("reference preset = %+v", c)
	}
}

// TestLlamaTwins: each Llama preset is its GPT-NeoX preset's twin (same
// width, depth, heads, data and optimisation; GQA and a SwiGLU width of
// 8/3·D rounded up to 16, as Llama sizes it) and builds the Llama model
// transformers' LlamaConfig describes.
func TestLlamaTwins(t *testing.T) {
	for _, tc := range []struct {
		neox, llama string
		kv, ffn     int
	}{{"tiny", "tiny-llama", 1, 176}, {"laptop-study", "laptop-study-llama", 1, 176}, {"reference", "reference-llama", 2, 688}} {
		n, err := Resolve(Defaults(), tc.neox, nil)
		if err != nil {
			t.Fatal(err)
		}
		l, err := Resolve(Defaults(), tc.llama, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := (8*l.HiddenSize/3 + 15) / 16 * 16; tc.ffn != want {
			t.Fatalf("%s: test expects SwiGLU width %d, the 8/3 rule gives %d", tc.llama, tc.ffn, want)
		}
		twin := n
		twin.Arch, twin.NumKVHeads, twin.IntermediateSize, twin.RotaryPct, twin.ParallelResidual = "llama", tc.kv, tc.ffn, 1, false
		if !reflect.DeepEqual(l, twin) {
			t.Errorf("%s = %+v\nwant the twin of %s %+v", tc.llama, l, tc.neox, twin)
		}
		mc := l.Model(n.VocabSize, nil)
		if err := mc.Validate(); err != nil {
			t.Fatal(err)
		}
		if mc.Arch != model.Llama || mc.KVHeads() != tc.kv || mc.IntermediateSize != tc.ffn || mc.HeadDim() != n.HiddenSize/n.NumHeads ||
			mc.RotaryDims() != mc.HeadDim() || mc.RotaryBase != n.RotaryBase || mc.LayerNormEps != n.LayerNormEps || mc.TieWordEmbeddings ||
			mc.ParallelResidual || mc.HiddenAct != "silu" || mc.Features().Norm != model.RMSNorm || mc.Features().MLP != model.SwiGLUMLP {
			t.Errorf("%s: model config %+v", tc.llama, mc)
		}
	}
}

// TestLlamaKeys: arch, num_kv_heads and tie_embeddings reach the model
// config; the GPT-NeoX-only keys do not change a Llama model; model keys
// compare as the model they define.
func TestLlamaKeys(t *testing.T) {
	c, err := Resolve(Defaults(), "tiny", []string{"arch=llama", "num_heads=4", "num_kv_heads=2", "tie_embeddings=true",
		"rotary_base=500000", "layer_norm_eps=1e-6", "sinks=2", "attention=sink_logit"})
	if err != nil {
		t.Fatal(err)
	}
	mc := c.Model(100, []int{98, 99})
	want := model.NewLlama(100, 64, 2, 4, 2, 256, true)
	want.RotaryBase, want.LayerNormEps, want.MaxPositionEmbeddings = 500000, 1e-6, 2048
	want.BOSTokenID, want.EOSTokenID = 0, 0
	want.Attention, want.SinkTokens, want.SinkIDs = sinktoken.SinkLogit, sinktoken.TokenNames(2), []int{98, 99}
	if !reflect.DeepEqual(mc, want) {
		t.Errorf("model config\n%+v\nwant\n%+v", mc, want)
	}
	if _, ok := mc.HFJSON(nil)["sinktrain"]; !ok || mc.TensorName(model.Output, -1) != "" || mc.TensorName(model.AttnSinks, 1) != "model.layers.1.self_attn.sink_logits" {
		t.Errorf("tied sink_logit llama: lm_head %q, sink logits %q", mc.TensorName(model.Output, -1), mc.TensorName(model.AttnSinks, 1))
	}
	// num_kv_heads = num_heads is MHA, written as 0 (model.ParseConfig's form).
	mha, err := Resolve(Defaults(), "tiny", []string{"arch=llama", "num_kv_heads=2"})
	if err != nil {
		t.Fatal(err)
	}
	if mc := mha.Model(10, nil); mc.NumKVHeads != 0 || mc.KVHeads() != 2 {
		t.Errorf("num_kv_heads = num_heads: model NumKVHeads %d", mc.NumKVHeads)
	}
	// rotary_pct and parallel_residual are GPT-NeoX keys.
	a, _ := Resolve(Defaults(), "tiny", []string{"arch=llama"})
	b, err := Resolve(Defaults(), "tiny", []string{"arch=llama", "rotary_pct=0.5", "parallel_residual=false", "num_kv_heads=2", "intermediate_size=256"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Model(10, nil), b.Model(10, nil)) {
		t.Errorf("GPT-NeoX keys changed a llama model:\n%+v\n%+v", a.Model(10, nil), b.Model(10, nil))
	}
	if d := modelMismatch(a, b); d != "" {
		t.Errorf("configs of one model mismatch: %s", d)
	}
	b.NumKVHeads = 1
	if d := modelMismatch(a, b); d != "num_kv_heads = 2 here but 1 in the checkpoint" {
		t.Errorf("mismatch %q", d)
	}
	n, _ := Resolve(Defaults(), "tiny", nil)
	if d := modelMismatch(n, a); d != "arch = gpt_neox here but llama in the checkpoint" {
		t.Errorf("mismatch %q", d)
	}
	if mc := n.Model(10, nil); mc.Arch != "" || mc.Features().Norm != model.LayerNorm || mc.TensorName(model.Output, -1) != model.EmbedOut {
		t.Errorf("default arch: %+v", mc)
	}
}

func TestPrecedence(t *testing.T) {
	c, err := Resolve(Defaults(), "tiny", []string{"batch=3", "betas=0.8,0.99", "parallel_residual=false", "max_tokens=1e6", "attention=softmax1", "seed=7"})
	if err != nil {
		t.Fatal(err)
	}
	if c.HiddenSize != 64 || c.Batch != 3 || c.Betas != [2]float64{0.8, 0.99} || c.ParallelResidual ||
		c.MaxTokens != 1000000 || c.Attention != "softmax1" || c.Seed != 7 || c.GradAccum != 1 {
		t.Errorf("got %+v", c)
	}
	// max_tokens wins over max_steps.
	if got, want := c.Steps(), (1000000+3*64-1)/(3*64); got != want {
		t.Errorf("Steps() = %d, want %d", got, want)
	}
	// A preset given as a path.
	p := filepath.Join(t.TempDir(), "my.json")
	os.WriteFile(p, []byte(`{"batch": 5, "lr": 0.01}`), 0o644)
	c, err = Resolve(Defaults(), p, []string{"lr=0.02"})
	if err != nil || c.Batch != 5 || c.LR != 0.02 || c.HiddenSize != 256 {
		t.Errorf("path preset: %+v %v", c, err)
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(s), 0o644)
		return p
	}
	cases := []struct {
		preset string
		sets   []string
		want   string
	}{
		{"", []string{"bacth=3"}, `unknown config key "bacth"`},
		{"", []string{"batch=three"}, `config key batch: "three" is not an integer`},
		{"", []string{"batch=1.5"}, `is not an integer`},
		{"", []string{"parallel_residual=maybe"}, `is not a boolean`},
		{"", []string{"betas=0.9"}, `is not 2 comma-separated numbers`},
		{"", []string{"batch"}, `expected key=value`},
		{"", []string{"batch=0"}, `batch = 0, expected a positive integer`},
		{"", []string{"block_size=-4"}, `block_size = -4, expected a positive integer`},
		{"", []string{"hidden_size=0"}, `hidden_size = 0, expected a positive integer`},
		{"", []string{"sinks=-1"}, `sinks = -1, expected >= 0`},
		{"", []string{"attention=linear"}, `attention "linear" is not supported`},
		{"", []string{"decay=step"}, `decay = "step"`},
		{"", []string{"hidden_size=250"}, `not divisible`},
		{"", []string{"max_steps=0"}, `both 0`},
		{"", []string{"lr=0"}, `lr = 0, expected > 0`},
		{"", []string{"min_lr=1"}, `min_lr = 1, expected in`},
		{"nonesuch", nil, `no such preset`},
		{write("bad1.json", `{"bach": 3}`), nil, `unknown config key "bach"`},
		{write("bad2.json", `{"batch": "3"}`), nil, `key batch: "3" is not an integer`},
		{write("bad3.json", `{"betas": 0.9}`), nil, `key betas: 0.9 is not a list of 2 numbers`},
		{write("bad4.json", `{"batch": -1}`), nil, `batch = -1`},
		{"", []string{"arch=mamba"}, `config key arch = "mamba", expected gpt_neox or llama`},
		{"", []string{"arch=llama", "num_kv_heads=3"}, `config key num_kv_heads = 3 does not divide num_heads = 4, expected one of 1, 2 or 4 (0 = num_heads)`},
		{"", []string{"arch=llama", "num_kv_heads=-1"}, `num_kv_heads = -1, expected >= 0`},
		{"", []string{"num_kv_heads=2"}, `config key num_kv_heads = 2 needs arch = llama`},
		{"", []string{"tie_embeddings=true"}, `config key tie_embeddings = true needs arch = llama`},
		{"", []string{"tie_embeddings=yes"}, `config key tie_embeddings: "yes" is not a boolean`},
		{"", []string{"arch=llama", "hidden_size=20", "num_heads=4"}, `rotary dims`},
		{write("bad5.json", `{"arch": 1}`), nil, `key arch: 1 is not string`},
	}
	for _, tc := range cases {
		_, err := Resolve(Defaults(), tc.preset, tc.sets)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s %v: error %v, want one line containing %q", tc.preset, tc.sets, err, tc.want)
		}
	}
}
