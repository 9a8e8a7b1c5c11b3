package checkpoint

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/model"
)

// familyConfigs are tiny config.json files of every family (transformers 5
// field names, some 4.x), one per variant the engine distinguishes.
var familyConfigs = map[string]string{
	"llama-gqa": `{"architectures":["LlamaForCausalLM"],"model_type":"llama","vocab_size":40,"hidden_size":16,"num_hidden_layers":2,
		"num_attention_heads":4,"num_key_value_heads":2,"intermediate_size":24,"rms_norm_eps":1e-6,"tie_word_embeddings":false,
		"rope_parameters":{"rope_theta":10000.0,"rope_type":"default"}}`,
	"llama-bias-v4": `{"model_type":"llama","vocab_size":40,"hidden_size":16,"num_hidden_layers":1,"num_attention_heads":2,
		"intermediate_size":24,"attention_bias":true,"mlp_bias":true,"rope_theta":500.0,"rope_scaling":{"type":"linear","factor":2.0}}`,
	"qwen2-tied": `{"model_type":"qwen2","vocab_size":40,"hidden_size":16,"num_hidden_layers":2,"num_attention_heads":4,
		"num_key_value_heads":1,"intermediate_size":24,"tie_word_embeddings":true}`,
	"mistral": `{"model_type":"mistral","vocab_size":40,"hidden_size":16,"num_hidden_layers":1,"num_attention_heads":4,
		"num_key_value_heads":2,"intermediate_size":24,"sliding_window":5,"tie_word_embeddings":false}`,
	"falcon-mqa": `{"model_type":"falcon","vocab_size":40,"hidden_size":16,"num_hidden_layers":2,"num_attention_heads":4,
		"multi_query":true,"parallel_attn":true}`,
	"falcon-new": `{"model_type":"falcon","vocab_size":40,"hidden_size":16,"num_hidden_layers":1,"num_attention_heads":4,
		"num_kv_heads":2,"new_decoder_architecture":true,"bias":true,"tie_word_embeddings":false}`,
	"falcon-alibi": `{"model_type":"falcon","vocab_size":40,"hidden_size":16,"num_hidden_layers":1,"num_attention_heads":4,
		"multi_query":false,"parallel_attn":false,"alibi":true,"bias":true}`,
	"mpt": `{"model_type":"mpt","vocab_size":40,"d_model":16,"n_layers":2,"n_heads":4,"attn_config":{"clip_qkv":3.0}}`,
}

// familyDir writes a random model of a family config (every value non-zero)
// into a temp folder and returns the folder and its raw float32 tensors.
func familyDir(t *testing.T, name string) (string, *Model, map[string]Raw) {
	t.Helper()
	cfg, _, err := model.ParseConfig([]byte(familyConfigs[name]))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	w := model.Init(cfg, 7)
	raw := map[string]Raw{}
	for i, s := range cfg.ParamSpecs() {
		d := w[s.Name].Data
		for j := range d {
			d[j] += float32(math.Sin(float64(i*131+j))) * 0.05
		}
		raw[s.Name] = FromFloat32(s.Shape, d)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, ConfigFile), []byte(familyConfigs[name]))
	if err := WriteSafetensors(filepath.Join(dir, WeightsFile), raw, nil); err != nil {
		t.Fatal(err)
	}
	return dir, &Model{Config: cfg, Weights: w, Dir: dir}, raw
}

// TestFamiliesRoundTrip: every family imports with its tensors bit for bit,
// exports back (sinktrain format and plain HF) to the same tensors and an
// equal config, and converts to bfloat16 with round-to-nearest-even values.
func TestFamiliesRoundTrip(t *testing.T) {
	ctx := context.Background()
	for name := range familyConfigs {
		t.Run(name, func(t *testing.T) {
			dir, want, raw := familyDir(t, name)
			m, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			assertBitIdentical(t, m.Weights, raw)
			for _, hf := range []bool{false, true} {
				out := filepath.Join(t.TempDir(), "out")
				if err := Convert(ctx, ConvertOptions{From: dir, Out: out, HF: hf}); err != nil {
					t.Fatal(err)
				}
				back, _, err := ReadSafetensors(filepath.Join(out, WeightsFile))
				if err != nil {
					t.Fatal(err)
				}
				if len(back) != len(raw) {
					t.Fatalf("hf=%v: %d tensors written, want %d", hf, len(back), len(raw))
				}
				for k, r := range raw {
					if b := back[k]; b.DType != F32 || !slices.Equal(b.Shape, r.Shape) || !bytes.Equal(b.Data, r.Data) {
						t.Fatalf("hf=%v: tensor %s not bit-identical after export", hf, k)
					}
				}
				m2, err := Load(out)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(m2.Config, want.Config) {
					t.Fatalf("hf=%v: config\n%+v\nwant\n%+v", hf, m2.Config, want.Config)
				}
			}
			out := filepath.Join(t.TempDir(), "bf16")
			if err := Convert(ctx, ConvertOptions{From: dir, Out: out, DType: "bfloat16"}); err != nil {
				t.Fatal(err)
			}
			m3, err := Load(out)
			if err != nil {
				t.Fatal(err)
			}
			for k, tw := range want.Weights {
				for i, v := range tw.Data {
					if got := m3.Weights[k].Data[i]; got != BF16ToFloat32(Float32ToBF16(v)) {
						t.Fatalf("bf16 %s[%d] = %v, want %v", k, i, got, BF16ToFloat32(Float32ToBF16(v)))
					}
				}
			}
		})
	}
}

// TestFamilySharded: a Llama folder split over two shards (plus an old
// rotary buffer) loads as the single file does.
func TestFamilySharded(t *testing.T) {
	dir, _, raw := familyDir(t, "llama-gqa")
	if err := os.Remove(filepath.Join(dir, WeightsFile)); err != nil {
		t.Fatal(err)
	}
	files := []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}
	shards := []map[string]Raw{{"model.layers.0.self_attn.rotary_emb.inv_freq": FromFloat32([]int{2}, []float32{1, 0.01})}, {}}
	index := map[string]string{"model.layers.0.self_attn.rotary_emb.inv_freq": files[0]}
	for k, r := range raw {
		i := 0
		if strings.Contains(k, "layers.1") || k == "lm_head.weight" {
			i = 1
		}
		shards[i][k] = r
		index[k] = files[i]
	}
	for i, s := range shards {
		if err := WriteSafetensors(filepath.Join(dir, files[i]), s, nil); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(dir, WeightsIndexFile), mustJSON(t, map[string]any{"metadata": map[string]any{}, "weight_map": index}))
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	assertBitIdentical(t, m.Weights, raw)
}

// TestTiedHead: a tied model's saved copy of its embedding as lm_head is
// dropped, a different one is refused, and an untied model without lm_head
// is refused by name.
func TestTiedHead(t *testing.T) {
	dir, _, raw := familyDir(t, "qwen2-tied")
	emb := raw["model.embed_tokens.weight"]
	raw["lm_head.weight"] = emb
	if err := WriteSafetensors(filepath.Join(dir, WeightsFile), raw, nil); err != nil {
		t.Fatal(err)
	}
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Weights["lm_head.weight"]; ok {
		t.Fatal("tied lm_head.weight kept")
	}
	other := Raw{DType: emb.DType, Shape: emb.Shape, Data: bytes.Clone(emb.Data)}
	other.Data[0] ^= 1
	raw["lm_head.weight"] = other
	if err := WriteSafetensors(filepath.Join(dir, WeightsFile), raw, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "lm_head.weight differs from model.embed_tokens.weight but tie_word_embeddings is true") {
		t.Fatalf("differing tied head: %v", err)
	}
	dir, _, raw = familyDir(t, "llama-gqa")
	delete(raw, "lm_head.weight")
	if err := WriteSafetensors(filepath.Join(dir, WeightsFile), raw, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "tensor lm_head.weight is missing, expected shape [40 16]: tie_word_embeddings is false") {
		t.Fatalf("untied without lm_head: %v", err)
	}
}

// TestAddSinksFamilies: an untied head grows with the embedding; a tied one
// is the embedding (no lm_head appears); new and sink rows are the mean row.
func TestAddSinksFamilies(t *testing.T) {
	for name, head := range map[string]string{"llama-gqa": "lm_head.weight", "qwen2-tied": "", "falcon-mqa": "", "mpt": ""} {
		_, m, _ := familyDir(t, name)
		embName := m.Config.TensorName(model.TokenEmbd, -1)
		old := slices.Clone(m.Weights[embName].Data)
		if _, err := AddSinks(m, nil, 2); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if m.Config.VocabSize != 42 || !slices.Equal(m.Config.SinkIDs, []int{40, 41}) {
			t.Fatalf("%s: vocab %d sinks %v", name, m.Config.VocabSize, m.Config.SinkIDs)
		}
		if err := m.Weights.Check(m.Config); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		names := []string{embName}
		if head != "" {
			names = append(names, head)
		} else if _, ok := m.Weights["lm_head.weight"]; ok {
			t.Fatalf("%s: a tied model got an lm_head", name)
		}
		D := m.Config.HiddenSize
		for _, n := range names {
			w := m.Weights[n]
			if w.Shape[0] != 42 {
				t.Fatalf("%s %s: %d rows", name, n, w.Shape[0])
			}
			if !slices.Equal(w.Data[41*D:42*D], w.Data[40*D:41*D]) || w.Data[40*D] == 0 {
				t.Fatalf("%s %s: sink rows differ or are zero", name, n)
			}
		}
		if !slices.Equal(m.Weights[embName].Data[:40*D], old) {
			t.Fatalf("%s: old embedding rows changed", name)
		}
	}
}

// TestExportRefusesFoundryMPT: transformers has no qk_ln and no MPT biases.
func TestExportRefusesFoundryMPT(t *testing.T) {
	_, m, _ := familyDir(t, "mpt")
	m.Config.QKLayerNorm = true
	m.Weights = model.Init(m.Config, 1)
	err := Export(filepath.Join(t.TempDir(), "hf"), m, SaveOptions{})
	if err == nil || !strings.Contains(err.Error(), "attn_config.qk_ln = true") {
		t.Fatalf("export of an MPT with qk_ln: %v", err)
	}
	if err := Save(filepath.Join(t.TempDir(), "ours"), m, SaveOptions{}); err != nil {
		t.Fatalf("sinktrain format: %v", err)
	}
}

// allFixtures are the HF model folders of testdata/fixtures
// (scripts/fixtures/generate.py); every one must be present.
var allFixtures = []string{
	"gptneox-a", "gptneox-b", "llama-gqa", "llama-mha-tied", "llama3-scaled", "llama-linear", "llama-bias",
	"mistral", "qwen2", "falcon-mqa", "falcon-new", "falcon-alibi", "mpt", "llama-train-gqa", "llama-train-mha-tied",
}

// TestFixturesClassicConfig: the fixtures' config.classic.json (the same
// model in transformers 4.x field names) parse to the config.json's model.
func TestFixturesClassicConfig(t *testing.T) {
	for _, fx := range []string{"gptneox-a", "llama3-scaled", "llama-linear", "falcon-mqa"} {
		parse := func(f string) model.Config {
			b, err := os.ReadFile(filepath.Join(fixtures+fx, f))
			if err != nil {
				t.Fatalf("%s (regenerate with scripts/fixtures/generate.py): %v", fx, err)
			}
			c, _, err := model.ParseConfig(b)
			if err != nil {
				t.Fatalf("%s/%s: %v", fx, f, err)
			}
			return c
		}
		v5, v4 := parse(ConfigFile), parse("config.classic.json")
		v4.EOSTokenID, v4.EOSTokenIDs, v4.BOSTokenID = v5.EOSTokenID, v5.EOSTokenIDs, v5.BOSTokenID
		if !reflect.DeepEqual(v4, v5) {
			t.Errorf("%s: config.classic.json %+v\nconfig.json %+v", fx, v4, v5)
		}
	}
}
