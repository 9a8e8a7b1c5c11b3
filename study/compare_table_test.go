package study

import (
	"bufio"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The package's -update flag, registered here unless another test file of
// package infer already did; cmpGolden reads it through flag.Lookup.
var _ = func() bool {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite testdata/*.golden files")
	}
	return true
}()

// cmpGolden compares got with testdata/name, rewriting it with -update.
func cmpGolden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func cmpSampleResults() *CompareResults {
	r := &CompareResults{
		Source: "persuasion.txt", Caches: []string{"0+64", "1+63", "4+60", "dense", "recompute:64"},
		Models: []CompareModel{
			{Name: "vanilla", Attention: "softmax"},
			{Name: "sinks1", Attention: "softmax", Sinks: 1},
			{Name: "softmax1", Attention: "softmax1"},
		},
	}
	ppl := [][]float64{
		{50.10, 50.11, 49.87, 48.73, 49.5},
		{54.35, 51.36, 51.32, 51.84, 51},
		{29214.4, 19.90, 18.27, math.Inf(1), 18.2},
	}
	for i, m := range r.Models {
		for j, c := range r.Caches {
			if i == 1 && c == "recompute:64" {
				continue // a missing cell
			}
			r.Results = append(r.Results, CompareResult{Model: m.Name, Cache: c, Tokens: 2000, NLL: math.Log(ppl[i][j]), PPL: ppl[i][j]})
		}
	}
	return r
}

func TestCompareTableGolden(t *testing.T) {
	cmpGolden(t, "table.md.golden", cmpSampleResults().Table())
}

func TestCompareCSVAndJSON(t *testing.T) {
	r := cmpSampleResults()
	var csv, js strings.Builder
	for _, x := range []struct {
		b *strings.Builder
		f func(*bufio.Writer) error
	}{{&csv, r.writeCSV}, {&js, r.writeJSON}} {
		w := bufio.NewWriter(x.b)
		if err := x.f(w); err != nil {
			t.Fatal(err)
		}
		w.Flush()
	}
	lines := strings.Split(strings.TrimSpace(csv.String()), "\n")
	if len(lines) != 1+len(r.Results) || lines[0] != "model,checkpoint,sinks,attention,cache,tokens,nll,ppl,tok_s,peak_rss_mb" {
		t.Errorf("results.csv has %d lines, header %q", len(lines), lines[0])
	}
	if !strings.Contains(js.String(), `"ppl": 1.7976931348623157e+308`) {
		t.Errorf("results.json does not encode an infinite ppl as the largest float:\n%s", js.String())
	}
}

func TestCmpRoller(t *testing.T) {
	r := newCmpRoller(2, 2)
	for i, v := range []float64{1, 2, 3, 4, 5} {
		r.add(i+1, 0, v)
	}
	r.finish()
	wantIdx := []int{2, 4, 5}
	wantPPL := []float64{math.Exp(1.5), math.Exp(3.5), math.Exp(4.5)}
	if len(r.idx) != 3 {
		t.Fatalf("got %d points, want 3", len(r.idx))
	}
	for i := range r.idx {
		if r.idx[i] != wantIdx[i] || math.Abs(r.ppl[i]-wantPPL[i]) > 1e-12 {
			t.Errorf("point %d = (%d, %v), want (%d, %v)", i, r.idx[i], r.ppl[i], wantIdx[i], wantPPL[i])
		}
	}
}
