package study

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/data/tokenizer"
	"github.com/sinktrain/sinktrain/infer"
	"github.com/sinktrain/sinktrain/sinktoken"
)

// fixtures is the shared reference folder, relative to this package.
const fixtures = "../testdata/fixtures"

// writeModelDir writes a random model with the fixture tokenizer (vocab
// 512) and k sinks into a temp dir.
func writeModelDir(t *testing.T, k int) string {
	return cmpWriteTinyModel(t, "m", cmpTinyConfig(k, sinktoken.Softmax), 9)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	must(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

const alice = "Alice was beginning to get very tired of sitting by her sister on the bank, and of having nothing to do."

// TestEvalStreamText: --text prepends the sink, the first text token is
// scored from it (index 1), the CSV has one row per scored target, and the
// JSON mean equals the CSV's.
func TestEvalStreamText(t *testing.T) {
	dir := writeModelDir(t, 1)
	csv := filepath.Join(t.TempDir(), "nll.csv")
	var out bytes.Buffer
	o := &EvalOptions{Model: dir, Source: Source{Text: writeFile(t, "a.txt", alice)}, Caches: []string{"1+8"}, NLLOut: csv, JSON: true, Out: &out}
	must(t, EvalStream(context.Background(), o))
	var r Result
	must(t, json.Unmarshal(out.Bytes(), &r))
	b, err := os.ReadFile(csv)
	must(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if lines[0] != "index,token_id,nll" || !strings.HasPrefix(lines[1], "1,") {
		t.Fatalf("CSV starts %q, %q; want header then index 1", lines[0], lines[1])
	}
	if len(lines)-1 != r.Tokens || r.Cache != "1+8" || math.Abs(r.PPL-math.Exp(r.NLL)) > 1e-9 || r.PeakRSSMB <= 0 {
		t.Fatalf("result %+v with %d CSV rows", r, len(lines)-1)
	}
}

// TestEvalStreamIDsSeveralCaches: --ids is fed verbatim; several caches give
// one table row and one CSV per spec.
func TestEvalStreamIDsSeveralCaches(t *testing.T) {
	dir := writeModelDir(t, 0)
	ids := writeFile(t, "ids.txt", "1 2 3\n4\t5 6 7 8 9 10 11 12\n")
	csv := filepath.Join(t.TempDir(), "nll.csv")
	var out bytes.Buffer
	o := &EvalOptions{Model: dir, Source: Source{IDs: ids, MaxTokens: 10}, Caches: []string{"2+3", "recompute:4", "dense"}, NLLOut: csv, Out: &out}
	must(t, EvalStream(context.Background(), o))
	for _, name := range []string{"nll.2+3.csv", "nll.recompute-4.csv", "nll.dense.csv"} {
		b, err := os.ReadFile(filepath.Join(filepath.Dir(csv), name))
		must(t, err)
		if n := strings.Count(string(b), "\n"); n != 10 {
			t.Errorf("%s has %d lines, want header + 9", name, n)
		}
	}
	if s := out.String(); !strings.Contains(s, "recompute:4") || strings.Count(s, "\n") != 4 {
		t.Errorf("table:\n%s", s)
	}
}

// TestEvalStreamBadInput: every bad input is a one-line error naming what
// was wrong.
func TestEvalStreamBadInput(t *testing.T) {
	dir := writeModelDir(t, 0)
	notNeoX := t.TempDir()
	must(t, os.WriteFile(filepath.Join(notNeoX, "config.json"), []byte(`{"model_type":"gpt2","vocab_size":10}`), 0o644))
	text := writeFile(t, "a.txt", alice)
	tests := []struct {
		o    EvalOptions
		want string
	}{
		{EvalOptions{Model: dir, Source: Source{Text: text}, Caches: []string{"4+"}}, `cache spec "4+": W (window) is empty`},
		{EvalOptions{Model: dir, Source: Source{Text: text}, Caches: []string{"-1+8"}}, `K (sinks) "-1" is not a non-negative integer`},
		{EvalOptions{Model: dir, Source: Source{Text: text}, Caches: []string{"0+0"}}, "empty cache"},
		{EvalOptions{Model: dir, Source: Source{Text: text}, Caches: []string{"4+0"}}, "K = 4 fills the whole cache"},
		{EvalOptions{Model: dir, Source: Source{Text: text}, Caches: []string{"window"}}, `expected "dense", "K+W"`},
		{EvalOptions{Model: dir, Source: Source{IDs: writeFile(t, "i", "1 2 x3")}, Caches: []string{"dense"}}, `token 2: "x3" is not an integer id`},
		{EvalOptions{Model: dir, Source: Source{IDs: writeFile(t, "i", "1 512")}, Caches: []string{"dense"}}, "token 1: id 512 is outside the model's vocabulary [0, 512)"},
		{EvalOptions{Model: dir, Source: Source{IDs: writeFile(t, "i", "7")}, Caches: []string{"dense"}}, "1 token(s), expected at least 2"},
		{EvalOptions{Model: dir, Source: Source{Text: writeFile(t, "s.txt", "A")}, Caches: []string{"dense"}}, "1 token(s) after tokenization, expected at least 2"},
		{EvalOptions{Model: notNeoX, Source: Source{Text: text}, Caches: []string{"dense"}}, `model_type "gpt2"`},
		{EvalOptions{Model: dir, Caches: []string{"dense"}}, "expected exactly one token source"},
	}
	for _, tt := range tests {
		tt.o.Out = &bytes.Buffer{}
		err := EvalStream(context.Background(), &tt.o)
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%+v: error %v, want one line containing %q", tt.o, err, tt.want)
		}
	}
}

func FuzzReadIDs(f *testing.F) {
	for _, s := range []string{"1 2 3", " 0\n99\t5 ", "1 x", "-1", "100", "", "1e3", "+5", "2147483648"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := ReadIDs(strings.NewReader(s), 100)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if len(ids) != len(strings.Fields(s)) {
			t.Fatalf("%q: %d ids from %d fields", s, len(ids), len(strings.Fields(s)))
		}
		for _, id := range ids {
			if id < 0 || id >= 100 {
				t.Fatalf("%q: id %d outside [0, 100)", s, id)
			}
		}
	})
}

// TestEvalStreamData: --data accepts a bare .arrow file (the fixture shard,
// tokenized with the same tokenizer); the sink is prepended.
func TestEvalStreamData(t *testing.T) {
	dir := writeModelDir(t, 1)
	var out bytes.Buffer
	o := &EvalOptions{Model: dir, Source: Source{Data: filepath.Join(fixtures, "arrow", "tokens.arrow"), MaxTokens: 100}, Caches: []string{"1+15"}, JSON: true, Out: &out}
	must(t, EvalStream(context.Background(), o))
	var r Result
	must(t, json.Unmarshal(out.Bytes(), &r))
	if r.Tokens != 100 { // 101 fed tokens (sink + 100), 100 targets, none a sink
		t.Errorf("scored %d targets, want 100", r.Tokens)
	}
}

// TestBOSCountsAmongFirstTokens: a tokenizer whose post-processor adds a BOS
// (Llama's "<s> $A", here id 0) gets it right after the sinks in --text
// streams, as HF's encode(add_special_tokens=True) does: without sinks it
// is stream token 0, the one a 1+W cache keeps. --ids stays verbatim.
func TestBOSCountsAmongFirstTokens(t *testing.T) {
	for _, k := range []int{0, 1} {
		dir := writeModelDir(t, k)
		tp := filepath.Join(dir, "tokenizer.json")
		b, err := os.ReadFile(tp)
		must(t, err)
		var tj map[string]any
		must(t, json.Unmarshal(b, &tj))
		tj["post_processor"] = map[string]any{"type": "TemplateProcessing",
			"single":         []any{map[string]any{"SpecialToken": map[string]any{"id": "<|endoftext|>", "type_id": 0}}, map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}}},
			"pair":           []any{},
			"special_tokens": map[string]any{"<|endoftext|>": map[string]any{"id": "<|endoftext|>", "ids": []int{0}, "tokens": []string{"<|endoftext|>"}}}}
		b, err = json.Marshal(tj)
		must(t, err)
		must(t, os.WriteFile(tp, b, 0o644))
		m, err := infer.LoadModel(dir)
		must(t, err)
		st, done, err := Source{Text: writeFile(t, "a.txt", alice)}.Open(dir, m)
		must(t, err)
		defer done()
		tok, err := tokenizer.Load(tp)
		must(t, err)
		want := append(append(m.SinkIDs(), 0), tok.Encode(alice)...)
		got, err := readPrefix(st, st.Len())
		must(t, err)
		if !slices.Equal(got, want) {
			t.Fatalf("%d sinks: fed stream %v\nwant %v", k, got[:min(8, len(got))], want[:8])
		}
		st, done2, err := Source{IDs: writeFile(t, "ids.txt", "5 6 7")}.Open(dir, m)
		must(t, err)
		defer done2()
		if got, err := readPrefix(st, st.Len()); err != nil || !slices.Equal(got, []int32{5, 6, 7}) {
			t.Fatalf("--ids fed %v, want verbatim", got)
		}
	}
}
