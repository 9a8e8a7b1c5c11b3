package checkpoint

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/model"
)

// copyFixture copies fixtures/name into a temp dir, renaming files as
// given (from -> to; "" drops the file).
func copyFixture(t *testing.T, name string, rename map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"config.json", "config.classic.json", "model.safetensors"} {
		b, err := os.ReadFile(filepath.Join(fixtures, name, f))
		if err != nil {
			continue
		}
		to := f
		if r, ok := rename[f]; ok {
			to = r
		}
		if to != "" {
			writeFile(t, filepath.Join(dir, to), b)
		}
	}
	return dir
}

func writeFile(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// fixtureRaw reads a fixture's model.safetensors.
func fixtureRaw(t *testing.T, name string) map[string]Raw {
	t.Helper()
	raw, _, err := ReadSafetensors(filepath.Join(fixtures, name, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// assertBitIdentical checks that w holds exactly the float32 tensors of raw.
func assertBitIdentical(t *testing.T, w model.Weights, raw map[string]Raw) {
	t.Helper()
	if len(w) != len(raw) {
		t.Fatalf("%d tensors, want %d", len(w), len(raw))
	}
	for name, r := range raw {
		got := FromFloat32(w[name].Shape, w[name].Data)
		if !slices.Equal(got.Shape, r.Shape) || !bytes.Equal(got.Data, r.Data) {
			t.Fatalf("tensor %s differs from the fixture", name)
		}
	}
}

func TestImportFixtures(t *testing.T) {
	classic := copyFixture(t, "gptneox-a", map[string]string{"config.json": "", "config.classic.json": "config.json"})
	cases := []struct {
		name, dir, fixture string
		rot, base          float64
		parallel           bool
		eos, V, L, H       int
	}{
		{"a", fixtures + "gptneox-a", "gptneox-a", 0.25, 10000, true, 2, 96, 2, 4},
		{"a-classic", classic, "gptneox-a", 0.25, 10000, true, 0, 96, 2, 4},
		{"b", fixtures + "gptneox-b", "gptneox-b", 1.0, 10000, false, 2, 80, 3, 3},
	}
	var configs []model.Config
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Load(c.dir)
			if err != nil {
				t.Fatal(err)
			}
			cfg := m.Config
			if cfg.RotaryPct != c.rot || cfg.RotaryBase != c.base || cfg.ParallelResidual != c.parallel ||
				cfg.EOSTokenID != c.eos || cfg.VocabSize != c.V || cfg.NumLayers != c.L || cfg.NumHeads != c.H ||
				cfg.LayerNormEps != 1e-5 || cfg.Attention != "softmax" || m.Sinktrain != nil || m.TokenizerPath != "" {
				t.Fatalf("config %+v", cfg)
			}
			assertBitIdentical(t, m.Weights, fixtureRaw(t, c.fixture))
			configs = append(configs, cfg)
		})
	}
	// The classic and v5 descriptions of model a are the same model
	// (the fixture's classic file only has a different eos id).
	if len(configs) == 3 {
		a, ac := configs[0], configs[1]
		ac.EOSTokenID = a.EOSTokenID
		if !reflect.DeepEqual(a, ac) {
			t.Errorf("classic config %+v != %+v", ac, a)
		}
	}
}

// TestImportVariants: half-precision files, sharded checkpoints, HF's
// non-parameter buffers, a tokenizer.
func TestImportVariants(t *testing.T) {
	raw := fixtureRaw(t, "gptneox-a")
	t.Run("bf16", func(t *testing.T) {
		dir := copyFixture(t, "gptneox-a", map[string]string{"model.safetensors": ""})
		half := map[string]Raw{}
		for k, r := range raw {
			f, _ := r.Float32s()
			half[k], _ = EncodeFloat32(BF16, r.Shape, f)
		}
		if err := WriteSafetensors(filepath.Join(dir, WeightsFile), half, nil); err != nil {
			t.Fatal(err)
		}
		m, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		f, _ := raw[model.EmbedOut].Float32s()
		if got := m.Weights[model.EmbedOut].Data[5]; got != BF16ToFloat32(Float32ToBF16(f[5])) {
			t.Fatalf("bf16 value %v", got)
		}
	})
	t.Run("sharded with buffers", func(t *testing.T) {
		dir := copyFixture(t, "gptneox-a", map[string]string{"model.safetensors": ""})
		shards := []map[string]Raw{{}, {}}
		index := map[string]string{}
		for k, r := range raw {
			i := 0
			if strings.Contains(k, "layers.1") || strings.HasPrefix(k, "embed_out") {
				i = 1
			}
			shards[i][k] = r
			index[k] = []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}[i]
		}
		buffers := map[string]Raw{
			"gpt_neox.layers.0.attention.bias":                {DType: Bool, Shape: []int{1, 1, 2, 2}, Data: []byte{1, 0, 1, 1}},
			"gpt_neox.layers.0.attention.masked_bias":         FromFloat32(nil, []float32{-1e9}),
			"gpt_neox.layers.1.attention.rotary_emb.inv_freq": FromFloat32([]int{2}, []float32{1, 0.01}),
		}
		for k, r := range buffers {
			shards[0][k] = r
			index[k] = "model-00001-of-00002.safetensors"
		}
		for i, s := range shards {
			if err := WriteSafetensors(filepath.Join(dir, []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}[i]), s, nil); err != nil {
				t.Fatal(err)
			}
		}
		writeFile(t, filepath.Join(dir, WeightsIndexFile), mustJSON(t, map[string]any{"metadata": map[string]any{"total_size": 1}, "weight_map": index}))
		writeFile(t, filepath.Join(dir, TokenizerFile), testTokenizer(96, nil))
		m, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		assertBitIdentical(t, m.Weights, raw)
		if m.TokenizerPath != filepath.Join(dir, TokenizerFile) {
			t.Errorf("tokenizer path %q", m.TokenizerPath)
		}
	})
}

// badDir builds a broken model folder.
type badDir struct {
	name string
	make func(t *testing.T) string
	want string
}

func rewriteWeights(fn func(raw map[string]Raw)) func(t *testing.T) string {
	return func(t *testing.T) string {
		dir := copyFixture(t, "gptneox-a", nil)
		raw := fixtureRaw(t, "gptneox-a")
		fn(raw)
		if err := WriteSafetensors(filepath.Join(dir, WeightsFile), raw, nil); err != nil {
			t.Fatal(err)
		}
		return dir
	}
}

func editFile(file string, fn func(b []byte) []byte) func(t *testing.T) string {
	return func(t *testing.T) string {
		dir := copyFixture(t, "gptneox-a", nil)
		p := filepath.Join(dir, file)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, p, fn(b))
		return dir
	}
}

// TestBadInput: every broken input gives a one-line error naming the
// problem, and convert leaves no output folder (nor temp folders).
func TestBadInput(t *testing.T) {
	cases := []badDir{
		{"truncated", editFile(WeightsFile, func(b []byte) []byte { return b[:len(b)/2] }), "run past|out of range"},
		{"header length beyond file", editFile(WeightsFile, func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b, uint64(len(b)))
			return b
		}), "exceeds the file"},
		{"overlapping offsets", func(t *testing.T) string {
			dir := copyFixture(t, "gptneox-a", nil)
			hdr := `{"embed_out.weight":{"dtype":"F32","shape":[96,64],"data_offsets":[0,24576]},` +
				`"gpt_neox.embed_in.weight":{"dtype":"F32","shape":[96,64],"data_offsets":[12288,36864]}}`
			writeFile(t, filepath.Join(dir, WeightsFile), craft(hdr, make([]byte, 36864)))
			return dir
		}, "data_offsets [12288, 36864] overlap"},
		{"out-of-range offsets", editFile(WeightsFile, func(b []byte) []byte {
			return append(b[:len(b)-8], 0) // the last tensor ends past the data
		}), "out of range"},
		{"dtype mismatch", rewriteWeights(func(raw map[string]Raw) {
			r := raw[model.FinalNormB]
			raw[model.FinalNormB] = Raw{DType: I32, Shape: r.Shape, Data: r.Data}
		}), "tensor gpt_neox.final_layer_norm.bias has dtype I32, expected a float dtype (F32, F16, BF16, F64) of shape [64]"},
		{"shape mismatch with config", editFile(ConfigFile, func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"vocab_size": 96`), []byte(`"vocab_size": 97`), 1)
		}), "tensor gpt_neox.embed_in.weight has shape [96 64], expected [97 64]"},
		{"missing tensor", rewriteWeights(func(raw map[string]Raw) { delete(raw, "gpt_neox.layers.1.mlp.dense_4h_to_h.bias") }),
			"tensor gpt_neox.layers.1.mlp.dense_4h_to_h.bias is missing, expected shape [64]"},
		{"unexpected tensor", rewriteWeights(func(raw map[string]Raw) {
			raw["gpt_neox.layers.0.attention.lora_A"] = FromFloat32([]int{1}, []float32{0})
		}),
			"unexpected tensor gpt_neox.layers.0.attention.lora_A"},
		{"non-finite weight", rewriteWeights(func(raw map[string]Raw) {
			binary.LittleEndian.PutUint32(raw[model.FinalNormW].Data[8:], math.Float32bits(float32(math.NaN())))
		}), "non-finite value"},
		{"model_type of another family", editFile(ConfigFile, func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"gpt_neox"`), []byte(`"llama"`), 1)
		}), `architectures [GPTNeoXForCausalLM] is not supported for model_type "llama", expected ["LlamaForCausalLM"]`},
		{"unknown model_type", editFile(ConfigFile, func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"gpt_neox"`), []byte(`"gpt2"`), 1)
		}), `config.json: model_type "gpt2" is not supported, expected one of "gpt_neox", "llama", "mistral", "qwen2", "falcon", "mpt"`},
		{"non-causal-LM architecture", editFile(ConfigFile, func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"GPTNeoXForCausalLM"`), []byte(`"GPTNeoXForSequenceClassification"`), 1)
		}), "architectures [GPTNeoXForSequenceClassification] is not supported"},
		{"pickle checkpoint", func(t *testing.T) string {
			dir := copyFixture(t, "gptneox-a", map[string]string{"model.safetensors": ""})
			writeFile(t, filepath.Join(dir, "pytorch_model.bin"), []byte("PK\x03\x04"))
			return dir
		}, "pickle checkpoint pytorch_model.bin, which sinktrain does not read (pickles can run code): convert it to safetensors first"},
		{"no config", func(t *testing.T) string { return t.TempDir() }, "no config.json"},
		{"bad shard index", func(t *testing.T) string {
			dir := copyFixture(t, "gptneox-a", map[string]string{"model.safetensors": "a.safetensors"})
			writeFile(t, filepath.Join(dir, WeightsIndexFile), []byte(`{"weight_map":{"embed_out.weight":"../a.safetensors"}}`))
			return dir
		}, "expected a file name in the same directory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := c.make(t)
			parent := t.TempDir()
			out := filepath.Join(parent, "out")
			err := Convert(context.Background(), ConvertOptions{From: src, Out: out})
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || !matchesAny(msg, c.want) {
				t.Fatalf("error %q, want one line containing %q", msg, c.want)
			}
			if ents, _ := os.ReadDir(parent); len(ents) != 0 {
				t.Fatalf("convert left %v behind", ents)
			}
		})
	}
}

func matchesAny(s, alternatives string) bool {
	for _, a := range strings.Split(alternatives, "|") {
		if strings.Contains(s, a) {
			return true
		}
	}
	return false
}

func TestIsBuffer(t *testing.T) {
	for name, want := range map[string]bool{
		"gpt_neox.layers.0.attention.bias":                 true,
		"gpt_neox.layers.11.attention.masked_bias":         true,
		"gpt_neox.layers.3.attention.rotary_emb.inv_freq":  true,
		"gpt_neox.rotary_emb.inv_freq":                     true,
		"gpt_neox.layers.0.attention.query_key_value.bias": false,
		"gpt_neox.layers.x.attention.bias":                 false,
		"gpt_neox.layers..attention.bias":                  false,
		"embed_out.weight":                                 false,
		"gpt_neox.layers.0.attention.bias.extra":           false,
	} {
		if IsBuffer(name) != want {
			t.Errorf("IsBuffer(%q) = %v", name, !want)
		}
	}
}
