package study

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/sinktrain/sinktrain/internal/fsutil"
	"github.com/sinktrain/sinktrain/internal/input"
)

// Files BudgetsReport writes.
const (
	BudgetsMD   = "eviction.md"
	BudgetsPlot = "eviction.png"
)

// BudgetResults is one compare run of a training budget.
type BudgetResults struct {
	Tokens  int64  // training tokens per model
	Results string // its results.json
}

// ParseBudgetResults reads "TOKENS=results.json" (TOKENS may be 64000000,
// 64e6 or 64M).
func ParseBudgetResults(s string) (BudgetResults, error) {
	t, path, ok := strings.Cut(s, "=")
	if !ok || path == "" {
		return BudgetResults{}, input.Errorf("Results", "budget results", strconv.Quote(s), "expected TOKENS=results.json")
	}
	n, err := parseTokens(t)
	if err != nil {
		return BudgetResults{}, input.Errorf("Results", "budget results", strconv.Quote(s), "%v", err)
	}
	return BudgetResults{Tokens: n, Results: path}, nil
}

func parseTokens(s string) (int64, error) {
	mul := 1.0
	switch {
	case strings.HasSuffix(s, "M"):
		s, mul = strings.TrimSuffix(s, "M"), 1e6
	case strings.HasSuffix(s, "G"):
		s, mul = strings.TrimSuffix(s, "G"), 1e9
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f*mul >= 1) || f*mul > 1e15 {
		return 0, fmt.Errorf("training tokens %q, expected a positive count such as 64000000, 64e6 or 64M", s)
	}
	return int64(math.Round(f * mul)), nil
}

// BudgetsOptions are the arguments of [BudgetsReport].
type BudgetsOptions struct {
	Budgets []BudgetResults // one compare run per training budget
	Windows []int           // cache sizes W of the eviction cost (each needs 0+W and k+(W−k) in the runs)
	Out     string          // output directory (created; must be new or empty)
}

// EvictionCost is what evicting a model's first tokens costs with a cache
// of W keys: Cost = ppl(0+W) / ppl(K+(W−K)) − 1, where K is the model's
// number of sinks, or 4 (StreamingLLM's choice) for a model without sinks.
type EvictionCost struct {
	Model         string
	Sinks         int
	Tokens        int64 // training tokens
	Window        int   // W
	Evicted, Kept string
	PPLEvicted    float64
	PPLKept       float64
	Cost          float64 // relative
}

// EvictionCosts lists the eviction cost of every model of r for each
// window, for the specs r holds.
func EvictionCosts(r *CompareResults, tokens int64, windows []int) []EvictionCost {
	ppl := map[[2]string]float64{}
	for _, x := range r.Results {
		ppl[[2]string{x.Model, x.Cache}] = x.PPL
	}
	var out []EvictionCost
	for _, m := range r.Models {
		k := m.Sinks
		if k == 0 {
			k = 4
		}
		for _, w := range windows {
			if k >= w {
				continue
			}
			ev, kept := fmt.Sprintf("0+%d", w), fmt.Sprintf("%d+%d", k, w-k)
			pe, ok1 := ppl[[2]string{m.Name, ev}]
			pk, ok2 := ppl[[2]string{m.Name, kept}]
			if !ok1 || !ok2 {
				continue
			}
			out = append(out, EvictionCost{Model: m.Name, Sinks: m.Sinks, Tokens: tokens, Window: w, Evicted: ev, Kept: kept,
				PPLEvicted: pe, PPLKept: pk, Cost: pe/pk - 1})
		}
	}
	return out
}

// BudgetsReport reads the compare results of several training budgets and
// writes eviction.md (a table of the eviction cost per model, window and
// budget) and eviction.png (the cost against the budget, one line per model
// and window) into o.Out. It returns the table.
func BudgetsReport(o *BudgetsOptions) (string, error) {
	if len(o.Budgets) == 0 {
		return "", input.Errorf("Budgets", "budget results", "", "none given, expected at least one TOKENS=results.json")
	}
	if len(o.Windows) == 0 {
		return "", input.Errorf("Windows", "window", "", "none given, expected at least one W such as 64")
	}
	for _, w := range o.Windows {
		if w < 2 || w > 1<<20 {
			return "", input.Usagef("Windows", "window", strconv.Itoa(w), "expected 2 ≤ W ≤ %d", 1<<20)
		}
	}
	stage, err := cmpNewStage(o.Out, budgetsOutput)
	if err != nil {
		return "", err
	}
	defer stage.abort()
	budgets := slices.Clone(o.Budgets)
	slices.SortStableFunc(budgets, func(a, b BudgetResults) int { return cmp.Compare(a.Tokens, b.Tokens) })
	var all []EvictionCost
	var columns []int64 // the budgets, once each: several runs of one budget are merged
	type cell struct {
		model  string
		tokens int64
		window int
	}
	from := map[cell]string{} // the results file that gave each cell
	for _, b := range budgets {
		if len(columns) == 0 || columns[len(columns)-1] != b.Tokens {
			columns = append(columns, b.Tokens)
		}
		raw, err := os.ReadFile(b.Results)
		if err != nil {
			return "", input.File("Results", "results file", b.Results, err)
		}
		var r CompareResults
		if err := json.Unmarshal(raw, &r); err != nil {
			return "", input.Errorf("Results", "results file", b.Results, "not a compare results.json: %v", err)
		}
		c := EvictionCosts(&r, b.Tokens, o.Windows)
		if len(c) == 0 {
			return "", input.Errorf("Results", "results file", b.Results, "holds no model with both 0+W and K+(W−K) for W in %v", o.Windows)
		}
		for _, x := range c {
			key := cell{x.Model, x.Tokens, x.Window}
			if f, ok := from[key]; ok {
				return "", input.Errorf("Results", "results file", b.Results, "model %q at %s training tokens is also in %s: expected each model once per budget", x.Model, tokensLabel(x.Tokens), f)
			}
			from[key] = b.Results
		}
		all = append(all, c...)
	}
	md := budgetsTable(all, columns, o.Windows)
	if err := plotEvictionCosts(stage.path(BudgetsPlot), all); err != nil {
		return "", err
	}
	if err := fsutil.WriteFileAtomic(stage.path(BudgetsMD), func(w *bufio.Writer) error {
		_, err := w.WriteString(md)
		return err
	}); err != nil {
		return "", err
	}
	return md, stage.commit()
}

// budgetsOutput is what BudgetsReport writes into its output directory.
var budgetsOutput = cmpOutput{what: "compare budgets output", marker: BudgetsMD, owned: func(name string) bool { return name == BudgetsMD || name == BudgetsPlot }}

// tokensLabel writes a budget as 8.19M, 64M, 1.5G.
func tokensLabel(n int64) string {
	switch {
	case n >= 1e9:
		return strconv.FormatFloat(float64(n)/1e9, 'f', -1, 64) + "G"
	case n >= 1e6:
		return strconv.FormatFloat(math.Round(float64(n)/1e4)/100, 'f', -1, 64) + "M"
	}
	return strconv.FormatInt(n, 10)
}

func budgetsTable(all []EvictionCost, budgets []int64, windows []int) string {
	var b strings.Builder
	b.WriteString("Eviction cost: perplexity with the first tokens evicted (0+W) over perplexity with the model's K sinks kept (K+(W−K); K = 4 for models without sinks), minus 1. Positive: evicting hurts.\n\n")
	b.WriteString("| model | W |")
	for _, bu := range budgets {
		fmt.Fprintf(&b, " %s |", tokensLabel(bu))
	}
	b.WriteString("\n|---|---:|")
	for range budgets {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	var models []string
	for _, c := range all {
		if !slices.Contains(models, c.Model) {
			models = append(models, c.Model)
		}
	}
	for _, m := range models {
		for _, w := range windows {
			row := fmt.Sprintf("| %s | %d |", m, w)
			any := false
			for _, bu := range budgets {
				cell := " – |"
				for _, c := range all {
					if c.Model == m && c.Window == w && c.Tokens == bu {
						cell = fmt.Sprintf(" %+.1f%% (%.2f vs %.2f) |", 100*c.Cost, c.PPLEvicted, c.PPLKept)
						any = true
					}
				}
				row += cell
			}
			if any {
				b.WriteString(row + "\n")
			}
		}
	}
	return b.String()
}

// budgetTicks labels a log₂ token axis at the budgets.
type budgetTicks struct{ at []float64 }

func (t budgetTicks) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	for _, x := range t.at {
		if x >= lo && x <= hi {
			out = append(out, plot.Tick{Value: x, Label: tokensLabel(int64(math.Round(math.Exp2(x))))})
		}
	}
	return out
}

func plotEvictionCosts(path string, all []EvictionCost) error {
	p := plot.New()
	p.Title.Text = "What evicting the first tokens costs, by training budget"
	p.Title.Padding = vg.Points(8)
	p.Y.Tick.Marker = plotPlainTicks{}
	p.X.Label.Text = "training tokens per model (log scale)"
	p.Y.Label.Text = "eviction cost: ppl(0+W) / ppl(K+(W−K)) − 1  [%]"
	p.Add(plotter.NewGrid())
	legend := plot.NewLegend()
	legend.TextStyle.Font.Size = vg.Points(9)
	var xs []float64
	type key struct {
		model string
		w     int
	}
	var keys []key
	lines := map[key]plotter.XYs{}
	for _, c := range all {
		x := math.Log2(float64(c.Tokens))
		if !slices.Contains(xs, x) {
			xs = append(xs, x)
		}
		k := key{c.Model, c.Window}
		if _, ok := lines[k]; !ok {
			keys = append(keys, k)
		}
		lines[k] = append(lines[k], plotter.XY{X: x, Y: 100 * c.Cost})
	}
	slices.Sort(xs)
	p.X.Tick.Marker = budgetTicks{xs}
	if len(xs) > 0 {
		p.X.Min, p.X.Max = xs[0]-0.3, xs[len(xs)-1]+0.3
	}
	zero, err := plotter.NewLine(plotter.XYs{{X: p.X.Min, Y: 0}, {X: p.X.Max, Y: 0}})
	if err != nil {
		return fmt.Errorf("plot %s: %w", filepath.Base(path), err)
	}
	zero.Color, zero.Width = color.Gray{Y: 110}, vg.Points(0.8)
	p.Add(zero)
	var models []string
	var windows []int
	for _, k := range keys {
		if !slices.Contains(models, k.model) {
			models = append(models, k.model)
		}
		if !slices.Contains(windows, k.w) {
			windows = append(windows, k.w)
		}
	}
	for _, k := range keys {
		pts := lines[k]
		slices.SortFunc(pts, func(a, b plotter.XY) int { return int(math.Copysign(1, a.X-b.X)) })
		l, s, err := plotter.NewLinePoints(pts)
		if err != nil {
			return fmt.Errorf("plot %s: %s W=%d: %w", filepath.Base(path), k.model, k.w, err)
		}
		mi, wi := slices.Index(models, k.model), slices.Index(windows, k.w)
		l.Color, s.Color = plotutil.Color(mi), plotutil.Color(mi)
		l.Dashes = plotDashes[wi%len(plotDashes)]
		l.Width = vg.Points(1.5)
		s.Shape = plotutil.Shape(mi)
		s.Radius = vg.Points(3)
		p.Add(l, s)
		legend.Add(fmt.Sprintf("%s, W=%d", k.model, k.w), l, s)
	}
	return plotWithLegendRight(p, legend, 10*vg.Inch, 5.5*vg.Inch, 2.1*vg.Inch, path)
}

// plotWithLegendRight draws p into the left part of a w×h PNG and legend
// into a column of width lw on its right, so no entry covers data.
func plotWithLegendRight(p *plot.Plot, legend plot.Legend, w, h, lw vg.Length, path string) error {
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(plotDPI))
	dc := draw.New(img)
	p.Draw(draw.Crop(dc, 0, -lw, 0, 0))
	legend.Top, legend.Left = true, true
	legend.YOffs = -vg.Points(30)
	legend.Draw(draw.Crop(dc, w-lw, 0, 0, 0))
	return fsutil.WriteFileAtomic(path, func(bw *bufio.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(bw)
		return err
	})
}
