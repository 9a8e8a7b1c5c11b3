package checkpoint

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/sinktrain/sinktrain/data/tokenizer"
	"github.com/sinktrain/sinktrain/model"
	"github.com/sinktrain/sinktrain/sinktoken"
)

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testTokenizer returns a minimal BPE tokenizer.json with v tokens: id 0 is
// the added special <|endoftext|>, the others "t<i>", except the ids of the
// extra added tokens, which hold those tokens.
func testTokenizer(v int, extra map[string]int) []byte {
	vocab := map[string]int{"<|endoftext|>": 0}
	taken := map[int]bool{}
	for name, id := range extra {
		vocab[name], taken[id] = id, true // in the vocabulary too, as HF writes reserved tokens
	}
	for i := 1; i < v; i++ {
		if !taken[i] {
			vocab[fmt.Sprintf("t%d", i)] = i
		}
	}
	added := []map[string]any{{"id": 0, "content": "<|endoftext|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}}
	for name, id := range extra {
		added = append(added, map[string]any{"id": id, "content": name, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true})
	}
	b, _ := json.Marshal(map[string]any{
		"version": "1.0", "truncation": nil, "padding": nil, "added_tokens": added,
		"normalizer": nil, "pre_tokenizer": map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
		"post_processor": nil, "decoder": map[string]any{"type": "ByteLevel"},
		"model": map[string]any{"type": "BPE", "dropout": nil, "unk_token": nil, "vocab": vocab, "merges": []string{}},
	})
	return b
}

// TestRoundTrip: HF -> ours -> HF reproduces the fixture's tensors bit for
// bit, with exactly its names, shapes and dtype.
func TestRoundTrip(t *testing.T) {
	for _, fx := range allFixtures {
		t.Run(fx, func(t *testing.T) {
			tmp := t.TempDir()
			ours, hf := filepath.Join(tmp, "ours"), filepath.Join(tmp, "hf")
			ctx := context.Background()
			if err := Convert(ctx, ConvertOptions{From: fixtures + fx, Out: ours}); err != nil {
				t.Fatal(err)
			}
			if err := Convert(ctx, ConvertOptions{From: ours, Out: hf, HF: true}); err != nil {
				t.Fatal(err)
			}
			want := fixtureRaw(t, fx)
			for _, d := range []string{ours, hf} {
				got, meta, err := ReadSafetensors(filepath.Join(d, WeightsFile))
				if err != nil {
					t.Fatal(err)
				}
				if meta["format"] != "pt" {
					t.Errorf("metadata %v, want format pt (transformers requires it)", meta)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: tensors differ from the fixture", d)
				}
			}
			var cj, orig map[string]any
			b, _ := os.ReadFile(filepath.Join(hf, ConfigFile))
			if err := json.Unmarshal(b, &cj); err != nil {
				t.Fatal(err)
			}
			b, _ = os.ReadFile(filepath.Join(fixtures+fx, ConfigFile))
			if err := json.Unmarshal(b, &orig); err != nil {
				t.Fatal(err)
			}
			if cj["model_type"] != orig["model_type"] || (orig["architectures"] != nil && !reflect.DeepEqual(cj["architectures"], orig["architectures"])) || cj["torch_dtype"] != "float32" {
				t.Errorf("config.json %v, the fixture's %v", cj, orig)
			}
			a, _ := Load(fixtures + fx)
			c, _ := Load(hf)
			if !reflect.DeepEqual(a.Config, c.Config) {
				t.Errorf("config changed: %+v != %+v", c.Config, a.Config)
			}
		})
	}
}

// TestExportHalf: float16/bfloat16 exports load back with exactly our
// round-to-nearest-even rounding, within 2^-11 / 2^-8 relative.
func TestExportHalf(t *testing.T) {
	src, err := Load(fixtures + "gptneox-a")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		dtype string
		dt    DType
		round func(float32) float32
		rel   float64
	}{
		{"float16", F16, func(x float32) float32 { return F16ToFloat32(Float32ToF16(x)) }, 0x1p-11},
		{"bfloat16", BF16, func(x float32) float32 { return BF16ToFloat32(Float32ToBF16(x)) }, 0x1p-8},
	}
	for _, c := range cases {
		t.Run(c.dtype, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			if err := Convert(context.Background(), ConvertOptions{From: fixtures + "gptneox-a", Out: out, DType: c.dtype, HF: true}); err != nil {
				t.Fatal(err)
			}
			raw, _, err := ReadSafetensors(filepath.Join(out, WeightsFile))
			if err != nil {
				t.Fatal(err)
			}
			m, err := Load(out)
			if err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			for name, w := range src.Weights {
				if raw[name].DType != c.dt {
					t.Fatalf("%s stored as %s", name, raw[name].DType)
				}
				for i, x := range w.Data {
					y := m.Weights[name].Data[i]
					if y != c.round(x) {
						t.Fatalf("%s[%d]: %v loaded as %v, want %v", name, i, x, y, c.round(x))
					}
					if math.Abs(float64(x)) >= 0x1p-14 { // normal range of float16
						worst = max(worst, math.Abs(float64(y-x))/math.Abs(float64(x)))
					}
				}
			}
			if worst > c.rel {
				t.Fatalf("max relative rounding error %g > %g", worst, c.rel)
			}
			t.Logf("max relative rounding error %.3g (bound %.3g)", worst, c.rel)
			b, _ := os.ReadFile(filepath.Join(out, ConfigFile))
			if !bytes.Contains(b, []byte(`"torch_dtype": "`+c.dtype+`"`)) {
				t.Errorf("config.json lacks torch_dtype %s", c.dtype)
			}
		})
	}
}

func TestAddSinks(t *testing.T) {
	cases := []struct {
		name     string
		tok      []byte
		k        int
		wantIDs  []int
		wantV    int
		existing int // index of a row that existed before and became a sink, -1 for none
	}{
		{"no tokenizer", nil, 2, []int{96, 97}, 98, -1},
		{"tokenizer fills the vocab", testTokenizer(96, nil), 1, []int{96}, 97, -1},
		{"reserved sink and padding rows", testTokenizer(90, map[string]int{"<|sink_0|>": 5}), 2, []int{5, 90}, 96, 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Load(fixtures + "gptneox-a")
			if err != nil {
				t.Fatal(err)
			}
			old := m.Weights[model.EmbedIn].Data
			tok, err := AddSinks(m, c.tok, c.k)
			if err != nil {
				t.Fatal(err)
			}
			cfg := m.Config
			if !slices.Equal(cfg.SinkIDs, c.wantIDs) || cfg.VocabSize != c.wantV || !slices.Equal(cfg.SinkTokens, sinktoken.TokenNames(c.k)) {
				t.Fatalf("sinks %v %v vocab %d", cfg.SinkTokens, cfg.SinkIDs, cfg.VocabSize)
			}
			D := cfg.HiddenSize
			for _, name := range []string{model.EmbedIn, model.EmbedOut} {
				w := m.Weights[name]
				if !slices.Equal(w.Shape, []int{c.wantV, D}) {
					t.Fatalf("%s shape %v", name, w.Shape)
				}
				mean := 0.0
				for r := 0; r < 96; r++ {
					mean += float64(fixtureRow(t, name, r)[3])
				}
				mean /= 96
				for _, id := range c.wantIDs {
					if got := float64(w.Data[id*D+3]); math.Abs(got-mean) > 1e-6 {
						t.Fatalf("%s row %d col 3 = %v, want the mean %v", name, id, got, mean)
					}
				}
			}
			for r := 0; r < 96; r++ { // other rows untouched
				if !slices.Contains(c.wantIDs, r) && !slices.Equal(m.Weights[model.EmbedIn].Data[r*D:(r+1)*D], old[r*D:(r+1)*D]) {
					t.Fatalf("row %d changed", r)
				}
			}
			if c.tok == nil {
				if tok != nil {
					t.Fatal("tokenizer from nothing")
				}
				return
			}
			tj, err := tokenizer.Parse(tok)
			if err != nil {
				t.Fatal(err)
			}
			for i, name := range cfg.SinkTokens {
				id, ok := tj.TokenID(name)
				special := slices.ContainsFunc(tj.AddedTokens(), func(a tokenizer.AddedToken) bool { return a.Content == name && a.Special })
				if !ok || int(id) != c.wantIDs[i] || !special {
					t.Fatalf("tokenizer: %s id %d (%v) special %v", name, id, ok, special)
				}
			}
			// Save, reload: the sinks and the tokenizer files persist.
			out := filepath.Join(t.TempDir(), "out")
			if err := Export(out, m, SaveOptions{Tokenizer: tok}); err != nil {
				t.Fatal(err)
			}
			back, err := Load(out)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(back.Config.SinkIDs, c.wantIDs) || back.Sinktrain == nil {
				t.Fatalf("reloaded sinks %v", back.Config.SinkIDs)
			}
			var stm map[string]any
			b, _ := os.ReadFile(filepath.Join(out, SpecialTokensMapFile))
			json.Unmarshal(b, &stm)
			if !reflect.DeepEqual(stm["additional_special_tokens"], []any{"<|sink_0|>", "<|sink_1|>"}[:c.k]) || stm["bos_token"] != "<|endoftext|>" {
				t.Fatalf("special_tokens_map.json %s", b)
			}
		})
	}
	t.Run("tokenizer larger than the model", func(t *testing.T) {
		m, _ := Load(fixtures + "gptneox-a")
		if _, err := AddSinks(m, testTokenizer(200, nil), 1); err == nil {
			t.Fatal("no error")
		}
	})
}

func fixtureRow(t *testing.T, name string, r int) []float32 {
	f, err := fixtureRaw(t, "gptneox-a")[name].Float32s()
	if err != nil {
		t.Fatal(err)
	}
	d := len(f) / 96
	return f[r*d : (r+1)*d]
}

// TestConvertAddSinks runs the command's path: HF fixture + tokenizer ->
// bf16 folder with one sink.
func TestConvertAddSinks(t *testing.T) {
	src := copyFixture(t, "gptneox-a", nil)
	writeFile(t, filepath.Join(src, TokenizerFile), testTokenizer(96, nil))
	out := filepath.Join(t.TempDir(), "sink1")
	if err := Convert(context.Background(), ConvertOptions{From: src, Out: out, DType: "bf16", AddSinks: 1, HF: true}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{ConfigFile, WeightsFile, TokenizerFile, SpecialTokensMapFile, TokenizerConfigFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Fatal(err)
		}
	}
	m, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.VocabSize != 97 || !slices.Equal(m.Config.SinkIDs, []int{96}) {
		t.Fatalf("config %+v", m.Config)
	}
	// An existing, non-empty output is refused and left alone.
	err = Convert(context.Background(), ConvertOptions{From: src, Out: out})
	if err == nil {
		t.Fatal("overwrote an existing folder")
	}
}

// TestAttentionVariants: softmax1 and sink_logit models save and load in
// our format, and refuse the HF export.
func TestAttentionVariants(t *testing.T) {
	for _, att := range []sinktoken.Attention{sinktoken.Softmax1, sinktoken.SinkLogit} {
		t.Run(string(att), func(t *testing.T) {
			cfg := mustLoad(t).Config
			cfg.Attention = att
			m := &Model{Config: cfg, Weights: model.Init(cfg, 1)}
			tmp := t.TempDir()
			if err := Export(filepath.Join(tmp, "hf"), m, SaveOptions{}); err == nil || !bytes.Contains([]byte(err.Error()), []byte("cannot be exported to transformers")) {
				t.Fatalf("export: %v", err)
			}
			if _, err := os.Stat(filepath.Join(tmp, "hf")); !errors.Is(err, os.ErrNotExist) {
				t.Fatal("export left a folder")
			}
			train := json.RawMessage(`{"lr":0.001}`)
			if err := Save(filepath.Join(tmp, "ours"), m, SaveOptions{Train: train}); err != nil {
				t.Fatal(err)
			}
			back, err := Load(filepath.Join(tmp, "ours"))
			if err != nil {
				t.Fatal(err)
			}
			if back.Config.Attention != att || !jsonEqual(back.Sinktrain.Train, train) {
				t.Fatalf("attention %q train %s", back.Config.Attention, back.Sinktrain.Train)
			}
		})
	}
}

func mustLoad(t *testing.T) *Model {
	t.Helper()
	m, err := Load(fixtures + "gptneox-a")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestCheckpointDirs: WriteDir is all or nothing, Save into a run dir keeps
// other files, LatestCheckpoint skips incomplete folders, Prune keeps the
// newest.
func TestCheckpointDirs(t *testing.T) {
	run := t.TempDir()
	m := mustLoad(t)
	writeFile(t, filepath.Join(run, "metrics.jsonl"), []byte("{}\n"))
	if err := Save(run, m, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(run, "metrics.jsonl")); err != nil {
		t.Fatal("Save into a run dir removed metrics.jsonl")
	}
	state := func(step int) FileWriter {
		return func(w *bufio.Writer) error { _, err := fmt.Fprintf(w, `{"step":%d}`, step); return err }
	}
	for _, step := range []int{100, 200, 300} {
		if err := Save(CheckpointDir(run, step), m, SaveOptions{Files: map[string]FileWriter{"trainer_state.json": state(step)}}); err != nil {
			t.Fatal(err)
		}
	}
	// A failing write leaves nothing, not even a temp folder.
	boom := map[string]FileWriter{"a": state(1), "b": func(*bufio.Writer) error { return errors.New("disk full") }}
	if err := WriteDir(CheckpointDir(run, 400), boom); err == nil {
		t.Fatal("no error")
	}
	// An incomplete folder (no weights) is not a checkpoint.
	os.Mkdir(CheckpointDir(run, 500), 0o755)
	writeFile(t, filepath.Join(CheckpointDir(run, 500), ConfigFile), []byte("{}"))
	dir, step, err := LatestCheckpoint(run)
	if err != nil || step != 300 || dir != CheckpointDir(run, 300) {
		t.Fatalf("latest %q %d %v", dir, step, err)
	}
	// Rewriting an existing checkpoint replaces it whole.
	if err := WriteDir(CheckpointDir(run, 300), map[string]FileWriter{ConfigFile: state(3), WeightsFile: state(3)}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(CheckpointDir(run, 300), "trainer_state.json")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("old files survived a WriteDir replace")
	}
	os.Mkdir(filepath.Join(run, ".checkpoint-000600.tmp-123"), 0o755)
	if err := PruneCheckpoints(run, 2); err != nil {
		t.Fatal(err)
	}
	cs, _ := Checkpoints(run)
	if len(cs) != 2 || cs[0].Step != 200 || cs[1].Step != 300 {
		t.Fatalf("after prune %v", cs)
	}
	ents, _ := os.ReadDir(run)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	want := []string{"checkpoint-000200", "checkpoint-000300", "checkpoint-000500", ConfigFile, "metrics.jsonl", WeightsFile}
	if !slices.Equal(names, want) {
		t.Fatalf("run dir %v, want %v", names, want)
	}
	if d, s, err := LatestCheckpoint(filepath.Join(run, "missing")); d != "" || s != 0 || err != nil {
		t.Fatalf("missing run: %q %d %v", d, s, err)
	}
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}
