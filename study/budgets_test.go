package study

import (
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseBudgetResults(t *testing.T) {
	for in, want := range map[string]int64{"64000000=a.json": 64000000, "64M=a.json": 64000000, "8.192M=a.json": 8192000, "2.56e8=a.json": 256000000} {
		b, err := ParseBudgetResults(in)
		if err != nil || b.Tokens != want || b.Results != "a.json" {
			t.Errorf("%s: %+v %v, want %d", in, b, err, want)
		}
	}
	for _, bad := range []string{"64M", "=a.json", "x=a.json", "-5=a.json", "0=a.json", "64M="} {
		if _, err := ParseBudgetResults(bad); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: err %v, want one line", bad, err)
		}
	}
}

// budgetRun is a compare result of a vanilla, a 1-sink and a 4-sink model
// whose evicted perplexities are base·(1+cost).
func budgetRun(base float64, cost1, cost4 float64) *CompareResults {
	r := &CompareResults{Caches: []string{"0+64", "1+63", "4+60"},
		Models: []CompareModel{{Name: "vanilla"}, {Name: "sinks1", Sinks: 1}, {Name: "sinks4", Sinks: 4}}}
	add := func(m, c string, p float64) { r.Results = append(r.Results, CompareResult{Model: m, Cache: c, PPL: p}) }
	add("vanilla", "0+64", base)
	add("vanilla", "4+60", base)
	add("sinks1", "0+64", base*(1+cost1))
	add("sinks1", "1+63", base)
	add("sinks4", "0+64", base*(1+cost4))
	add("sinks4", "4+60", base)
	return r
}

func TestEvictionCosts(t *testing.T) {
	c := EvictionCosts(budgetRun(50, 0.05, 0.12), 64e6, []int{64, 32})
	if len(c) != 3 {
		t.Fatalf("%d costs, want 3 (W=32 has no columns): %+v", len(c), c)
	}
	want := map[string]struct {
		kept string
		cost float64
	}{"vanilla": {"4+60", 0}, "sinks1": {"1+63", 0.05}, "sinks4": {"4+60", 0.12}}
	for _, x := range c {
		w := want[x.Model]
		if x.Kept != w.kept || x.Evicted != "0+64" || x.Tokens != 64e6 || x.Window != 64 || abs(x.Cost-w.cost) > 1e-12 {
			t.Errorf("%+v, want kept %s cost %g", x, w.kept, w.cost)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestBudgetsReport writes two budgets' results and checks the table (a
// golden file), the plot's size, and that a bad input leaves nothing.
func TestBudgetsReport(t *testing.T) {
	dir := t.TempDir()
	var budgets []BudgetResults
	for i, r := range []*CompareResults{budgetRun(70, 0.004, 0.014), budgetRun(50, 0.058, 0.12)} {
		p := filepath.Join(dir, []string{"a.json", "b.json"}[i])
		b, _ := json.Marshal(r)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		budgets = append(budgets, BudgetResults{Tokens: []int64{64e6, 8192000}[i], Results: p})
	}
	out := filepath.Join(dir, "out")
	md, err := BudgetsReport(&BudgetsOptions{Budgets: budgets, Windows: []int{64}, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	cmpGolden(t, "eviction.md.golden", md)
	f, err := os.Open(filepath.Join(out, BudgetsPlot))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil || img.Bounds().Dx() != plotPixels(10*72) || img.Bounds().Dy() != plotPixels(5.5*72) {
		t.Fatalf("eviction.png: %v, %v", err, img.Bounds())
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"results": []}`), 0o644)
	out2 := filepath.Join(dir, "out2")
	_, err = BudgetsReport(&BudgetsOptions{Budgets: []BudgetResults{{Tokens: 1e6, Results: bad}}, Windows: []int{64}, Out: out2})
	if err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Fatalf("results without the columns: err %v", err)
	}
	if _, err := os.Stat(out2); !os.IsNotExist(err) {
		t.Fatalf("a failed report left %s", out2)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 4 { // a.json b.json bad.json out/, nothing staged
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("left in the directory: %v", names)
	}
}

// TestBudgetsMergeRuns: two runs at one budget (models trained in separate
// jobs) give one column holding both; a model twice at one budget is refused.
func TestBudgetsMergeRuns(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, r *CompareResults) string {
		p := filepath.Join(dir, name)
		b, _ := json.Marshal(r)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	full := budgetRun(50, 0.05, 0.12)
	a, b := *full, *full
	a.Models, a.Results = full.Models[:2], full.Results[:4] // vanilla, sinks1
	b.Models, b.Results = full.Models[2:], full.Results[4:] // sinks4
	pa, pb := write("a.json", &a), write("b.json", &b)
	md, err := BudgetsReport(&BudgetsOptions{Budgets: []BudgetResults{{Tokens: 64e6, Results: pa}, {Tokens: 64e6, Results: pb}},
		Windows: []int{64, 32}, Out: filepath.Join(dir, "out")})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md, "| model | W | 64M |\n") || !strings.Contains(md, "| sinks4 | 64 | +12.0% (56.00 vs 50.00) |") ||
		!strings.Contains(md, "| sinks1 | 64 | +5.0% (52.50 vs 50.00) |") {
		t.Fatalf("merged table:\n%s", md)
	}
	_, err = BudgetsReport(&BudgetsOptions{Budgets: []BudgetResults{{Tokens: 64e6, Results: pa}, {Tokens: 64e6, Results: write("c.json", &a)}},
		Windows: []int{64}, Out: filepath.Join(dir, "out2")})
	if err == nil || !strings.Contains(err.Error(), `model "vanilla" at 64M training tokens is also in`) {
		t.Fatalf("a model twice at one budget: %v", err)
	}
}
