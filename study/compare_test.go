package study

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/sinktoken"
)

// cmpWriteIDs writes n pseudo-random token ids (none a sink id) to a file.
func cmpWriteIDs(t *testing.T, n int) string {
	t.Helper()
	r := rand.New(rand.NewPCG(7, 7))
	var b strings.Builder
	for range n {
		fmt.Fprintf(&b, "%d ", 5+r.IntN(500))
	}
	p := filepath.Join(t.TempDir(), "ids.txt")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// cmpEvalStreamJSON runs EvalStream --json and returns its results by cache.
func cmpEvalStreamJSON(t *testing.T, o EvalOptions) map[string]Result {
	t.Helper()
	var out bytes.Buffer
	o.JSON, o.Out = true, &out
	if err := EvalStream(context.Background(), &o); err != nil {
		t.Fatal(err)
	}
	res := map[string]Result{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var r Result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("eval stream --json line %q: %v", line, err)
		}
		res[r.Cache] = r
	}
	return res
}

// TestCompareEqualsEvalStream checks that every cell of compare's results
// is exactly what eval stream reports for the same model and spec, that
// table.md shows it, and that the plot is a valid PNG.
func TestCompareEqualsEvalStream(t *testing.T) {
	vanilla := cmpWriteTinyModel(t, "vanilla", cmpTinyConfig(0, sinktoken.Softmax), 1)
	sinks2 := cmpWriteTinyModel(t, "sinks2", cmpTinyConfig(2, sinktoken.Softmax), 2)
	ids := cmpWriteIDs(t, 150)
	caches := []string{"0+16", "2+14", "dense", "recompute:16"}
	out := filepath.Join(t.TempDir(), "cmp")
	var stdout bytes.Buffer
	err := Compare(context.Background(), &CompareOptions{
		Models: []NamedModel{{Name: "vanilla", Path: vanilla}, {Name: "sinks2", Path: sinks2}},
		Source: Source{IDs: ids, MaxTokens: 120}, Caches: caches, Out: out, Stdout: &stdout,
	})
	if err != nil {
		t.Fatal(err)
	}
	var res CompareResults
	if err := cmpReadJSON(filepath.Join(out, CompareJSON), &res); err != nil {
		t.Fatal(err)
	}
	table, err := os.ReadFile(filepath.Join(out, CompareMD))
	if err != nil {
		t.Fatal(err)
	}
	if stdout.String() != string(table) {
		t.Errorf("printed table differs from table.md")
	}
	for _, m := range []NamedModel{{Name: "vanilla", Path: vanilla}, {Name: "sinks2", Path: sinks2}} {
		want := cmpEvalStreamJSON(t, EvalOptions{Model: m.Path, Source: Source{IDs: ids, MaxTokens: 120}, Caches: caches})
		row := ""
		for _, c := range caches {
			got := res.Result(m.Name, c)
			if got == nil {
				t.Fatalf("no result for %s %s", m.Name, c)
			}
			w := want[c]
			if got.Tokens != w.Tokens || got.NLL != w.NLL || got.PPL != w.PPL {
				t.Errorf("%s %s: compare (tokens %d, nll %v, ppl %v) != eval stream (tokens %d, nll %v, ppl %v)",
					m.Name, c, got.Tokens, got.NLL, got.PPL, w.Tokens, w.NLL, w.PPL)
			}
			if len(got.Rolling) == 0 || got.RollingIndex[len(got.RollingIndex)-1] != 119 {
				t.Errorf("%s %s: rolling perplexity has %d points ending at %v, want the last at target 119", m.Name, c, len(got.Rolling), got.RollingIndex)
			}
			row += fmt.Sprintf(" %.2f |", w.PPL)
		}
		if !strings.Contains(string(table), row) {
			t.Errorf("table.md has no row with eval stream's perplexities %q:\n%s", row, table)
		}
	}
	pw, ph := plotLinesSize(len(res.Models))
	plotCheckPNG(t, filepath.Join(out, ComparePlot), pw, ph)
	csv, err := os.ReadFile(filepath.Join(out, CompareCSV))
	if err != nil || strings.Count(string(csv), "\n") != 1+2*len(caches) {
		t.Errorf("results.csv: %v, %d lines, want %d", err, strings.Count(string(csv), "\n"), 1+2*len(caches))
	}
}

func TestCompareBadInput(t *testing.T) {
	a := cmpWriteTinyModel(t, "a", cmpTinyConfig(0, sinktoken.Softmax), 1)
	b := cmpWriteTinyModel(t, "b", cmpTinyConfig(1, sinktoken.Softmax), 2)
	other := cmpWriteTinyModel(t, "other", cmpTinyConfig(0, sinktoken.Softmax), 3)
	if err := os.WriteFile(filepath.Join(other, "tokenizer.json"), []byte(`{"different": true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	ids := cmpWriteIDs(t, 40)
	notDir := filepath.Join(t.TempDir(), "file")
	os.WriteFile(notDir, nil, 0o644)
	good := func() *CompareOptions {
		return &CompareOptions{Models: []NamedModel{{"a", a}, {"b", b}}, Source: Source{IDs: ids}, Caches: []string{"0+8"}, Out: filepath.Join(t.TempDir(), "o"), Stdout: &bytes.Buffer{}}
	}
	tests := []struct {
		name    string
		edit    func(*CompareOptions)
		wantErr string
	}{
		{"duplicate names", func(o *CompareOptions) { o.Models[1].Name = "a" }, `model name "a": given twice (duplicate model name)`},
		{"different tokenizers", func(o *CompareOptions) { o.Models[1].Path = other }, "different tokenizer.json"},
		{"unwritable out", func(o *CompareOptions) { o.Out = filepath.Join(notDir, "sub", "o") }, "output directory " + filepath.Join(notDir, "sub", "o") + ": cannot create its parent"},
		{"out is a file", func(o *CompareOptions) { o.Out = notDir }, "not a directory"},
		{"bad spec", func(o *CompareOptions) { o.Caches = []string{"4+"} }, "cache spec"},
		{"no source", func(o *CompareOptions) { o.IDs = "" }, "expected exactly one token source"},
		{"missing model", func(o *CompareOptions) { o.Models[0].Path = filepath.Join(a, "nope") }, "model a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good()
			tt.edit(o)
			err := Compare(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			if _, serr := os.Stat(o.Out); serr == nil && o.Out != notDir {
				t.Errorf("a failed compare left %s behind", o.Out)
			}
		})
	}
	o := good()
	o.Models[1].Path = other
	o.AllowDifferentTokenizers = true
	if err := Compare(context.Background(), o); err != nil {
		t.Errorf("--allow-different-tokenizers: %v", err)
	}
}

// TestCompareTextEqualsEvalStream covers the --text path (tokenizer, sinks
// prepended) on a 1-sink and a softmax1 model.
func TestCompareTextEqualsEvalStream(t *testing.T) {
	sink1 := cmpWriteTinyModel(t, "sink1", cmpTinyConfig(1, sinktoken.Softmax), 8)
	zero := cmpWriteTinyModel(t, "softmax1", cmpTinyConfig(0, sinktoken.Softmax1), 9)
	text := filepath.Join("testdata", "stream.txt")
	caches := []string{"0+24", "1+23", "dense"}
	out := filepath.Join(t.TempDir(), "cmp")
	models := []NamedModel{{Name: "sink1", Path: sink1}, {Name: "softmax1", Path: zero}}
	if err := Compare(context.Background(), &CompareOptions{Models: models, Source: Source{Text: text, MaxTokens: 200}, Caches: caches, Out: out, Stdout: &bytes.Buffer{}}); err != nil {
		t.Fatal(err)
	}
	var res CompareResults
	if err := cmpReadJSON(filepath.Join(out, CompareJSON), &res); err != nil {
		t.Fatal(err)
	}
	for _, m := range models {
		want := cmpEvalStreamJSON(t, EvalOptions{Model: m.Path, Source: Source{Text: text, MaxTokens: 200}, Caches: caches})
		for _, c := range caches {
			got, w := res.Result(m.Name, c), want[c]
			if got == nil || got.Tokens != w.Tokens || got.NLL != w.NLL || got.PPL != w.PPL {
				t.Errorf("%s %s: compare %+v != eval stream %+v", m.Name, c, got, w)
			}
		}
	}
	// 200 text tokens after the sink: every text token is a target (the
	// first is predicted from the sink); the vanilla-like softmax1 model has
	// no predecessor for its first token.
	for name, want := range map[string]int{"sink1": 200, "softmax1": 199} {
		if s := res.Result(name, "dense"); s == nil || s.Tokens != want {
			t.Errorf("%s scored %d tokens, want %d", name, s.Tokens, want)
		}
	}
}
