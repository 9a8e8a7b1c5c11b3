package tokenizer

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

var tokUpdate = flag.Bool("update", false, "rewrite testdata golden files")

// TestMarshalMatchesFixture checks that our tokenizer.json says exactly what
// HF's says (same JSON value).
func TestMarshalMatchesFixture(t *testing.T) {
	tk, _ := tokLoadFixture(t)
	got, err := tk.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(tokFixture)
	if err != nil {
		t.Fatal(err)
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("MarshalJSON wrote invalid JSON: %v", err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Error("MarshalJSON of the fixture tokenizer differs from the fixture file")
	}
}

// TestSaveReload saves, reloads and saves again: same bytes, same ids; the
// saved file of a trained tokenizer is a golden file.
func TestSaveReload(t *testing.T) {
	fixture, cases := tokLoadFixture(t)
	trained := tokTrainSmall(t, 300)
	for name, tk := range map[string]*Tokenizer{"fixture": fixture, "trained": trained} {
		path := filepath.Join(t.TempDir(), "tokenizer.json")
		if err := tk.Save(path); err != nil {
			t.Fatal(err)
		}
		back, err := Load(path)
		if err != nil {
			t.Fatalf("%s: reload: %v", name, err)
		}
		b1, _ := os.ReadFile(path)
		b2, err := back.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if string(b1) != string(b2) {
			t.Errorf("%s: saved file changes after a reload", name)
		}
		text := tokLongText(cases)
		if !slices.Equal(tk.Encode(text), back.Encode(text)) || tk.VocabSize() != back.VocabSize() {
			t.Errorf("%s: reloaded tokenizer encodes differently", name)
		}
		if name == "trained" {
			tokGolden(t, "testdata/tok_trained.golden.json", b1)
		}
	}
}

func tokGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *tokUpdate {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs (run with -update if the change is intended)", path)
	}
}

func TestMergesStringForm(t *testing.T) {
	tk, err := Parse(tokFixtureEdit(t, func(f map[string]any) {
		m := f["model"].(map[string]any)
		var lines []string
		for _, p := range m["merges"].([]any) {
			pp := p.([]any)
			lines = append(lines, pp[0].(string)+" "+pp[1].(string))
		}
		m["merges"] = lines
	}))
	if err != nil {
		t.Fatal(err)
	}
	ref, cases := tokLoadFixture(t)
	text := tokLongText(cases)
	if !slices.Equal(tk.Encode(text), ref.Encode(text)) {
		t.Error("string-form merges encode differently from list-form merges")
	}
}

func TestTokenizerBadInput(t *testing.T) {
	edit := func(f func(m map[string]any)) string { return string(tokFixtureEdit(t, f)) }
	model := func(m map[string]any) map[string]any { return m["model"].(map[string]any) }
	for _, c := range []struct {
		name, json, want string
	}{
		{"malformed", `{"model": {`, "invalid JSON"},
		{"not an object", `[1, 2]`, "invalid JSON"},
		{"no model", `{"version": "1.0"}`, "model: missing"},
		{"wordpiece", edit(func(m map[string]any) { model(m)["type"] = "WordPiece" }), `model.type "WordPiece" is not supported`},
		{"unigram", `{"model": {"type": "Unigram", "vocab": [["a", 0.0]]}}`, `model.type "Unigram" is not supported`},
		{"no vocab", edit(func(m map[string]any) { delete(model(m), "vocab") }), "model.vocab: missing"},
		{"no merges", edit(func(m map[string]any) { delete(model(m), "merges") }), "model.merges: missing"},
		{"bad vocab", edit(func(m map[string]any) { model(m)["vocab"] = map[string]any{"a": "x"} }), "model.vocab"},
		{"negative id", edit(func(m map[string]any) { model(m)["vocab"] = map[string]any{"a": -3} }), "out of range"},
		{"merge not in vocab", edit(func(m map[string]any) { model(m)["merges"] = []any{[]any{"Ġ", "zzz"}} }), `model.merges[0]: "zzz" is not in the vocab`},
		{"bad merge line", edit(func(m map[string]any) { model(m)["merges"] = []any{"abc"} }), "model.merges"},
		{"whitespace pre-tokenizer", edit(func(m map[string]any) { m["pre_tokenizer"] = map[string]any{"type": "Whitespace"} }), `pre_tokenizer.type "Whitespace" is not supported`},
		{"lowercase", edit(func(m map[string]any) { m["normalizer"] = map[string]any{"type": "Lowercase"} }), `normalizer.type "Lowercase"`},
		{"wordpiece decoder", edit(func(m map[string]any) { m["decoder"] = map[string]any{"type": "WordPiece"} }), `decoder.type "WordPiece"`},
		{"dropout", edit(func(m map[string]any) { model(m)["dropout"] = 0.1 }), "model.dropout"},
		{"added token", edit(func(m map[string]any) { m["added_tokens"] = []any{map[string]any{"id": "x"}} }), "added_tokens[0]"},
	} {
		_, err := Parse([]byte(c.json))
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, c.want) || !strings.Contains(msg, "tokenizer.json") || strings.Contains(msg, "\n") {
			t.Errorf("%s: error %q, want one line naming tokenizer.json and containing %q", c.name, msg, c.want)
		}
	}
	// LoadTokenizer names the file.
	path := filepath.Join(t.TempDir(), "wp.json")
	if err := os.WriteFile(path, []byte(`{"model": {"type": "WordPiece", "vocab": {}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("LoadTokenizer error %v does not name %s", err, path)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("LoadTokenizer of a missing file: %v", err)
	}
}

// TestPythiaStyle loads a GPT-NeoX-20B shaped file: NFC normalizer,
// ByteLevel post-processor, string-form merges, non-special normalized
// whitespace added tokens beyond the model vocab.
func TestPythiaStyle(t *testing.T) {
	const js = `{
  "version": "1.0", "truncation": null, "padding": null,
  "added_tokens": [
    {"id": 0, "special": true, "content": "<|endoftext|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false},
    {"id": 1, "special": true, "content": "<|padding|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false},
    {"id": 9, "special": false, "content": "    ", "single_word": false, "lstrip": false, "rstrip": false, "normalized": true}
  ],
  "normalizer": {"type": "NFC"},
  "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true},
  "post_processor": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true},
  "decoder": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true},
  "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
    "end_of_word_suffix": null, "fuse_unk": false,
    "vocab": {"<|endoftext|>": 0, "<|padding|>": 1, "a": 2, "b": 3, "Ġ": 4, "ab": 5, "Ġab": 6, "Ã": 7, "©": 8},
    "merges": ["a b", "Ġ ab"]}
}`
	tk, err := Parse([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in   string
		want []int32
	}{
		{"ab ab", []int32{5, 6}},
		{"ab    ab", []int32{5, 9, 5}},
		{"e\u0301", []int32{7, 8}}, // NFC: é, the bytes Ã ©
		{"\u00e9", []int32{7, 8}},
		{"<|padding|>ab", []int32{1, 5}},
	} {
		if got := tk.Encode(c.in); !slices.Equal(got, c.want) {
			t.Errorf("Encode(%q) = %v, want %v", c.in, got, c.want)
		}
	}
	if tk.VocabSize() != 10 {
		t.Errorf("VocabSize = %d, want 10", tk.VocabSize())
	}
	if got := tk.Decode([]int32{5, 9, 6}); got != "ab     ab" {
		t.Errorf("Decode = %q", got)
	}
}
