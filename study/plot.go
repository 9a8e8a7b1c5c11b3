package study

import (
	"bufio"
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/sinktrain/sinktrain/internal/fsutil"
)

// Plot sizes. PNGs are rendered at vgimg's default 96 DPI, so a 9in × 5.5in
// plot is 864 × 528 pixels.
const (
	plotDPI         = 96
	plotLinesWidth  = 9 * vg.Inch
	plotLinesHeight = 5.5 * vg.Inch
	plotHeatSide    = 5.5 * vg.Inch
	plotBarsWidth   = 7 * vg.Inch
	plotBarsHeight  = 4 * vg.Inch
)

// plotPixels converts a plot length to PNG pixels.
func plotPixels(l vg.Length) int { return int(math.Round(float64(l/vg.Inch) * plotDPI)) }

// plotSeries is one line of a line plot: its colour is given by Group
// (e.g. the model), its dash pattern by Variant (e.g. the cache spec), so the
// legend lists groups and variants instead of every combination.
type plotSeries struct {
	Group, Variant string
	X, Y           []float64
}

// plotDashes are the dash patterns of variants, solid first.
var plotDashes = [][]vg.Length{
	{}, {vg.Points(6), vg.Points(2)}, {vg.Points(2), vg.Points(2)}, {vg.Points(8), vg.Points(3), vg.Points(2), vg.Points(3)},
	{vg.Points(1), vg.Points(3)}, {vg.Points(12), vg.Points(4)}, {vg.Points(6), vg.Points(2), vg.Points(2), vg.Points(2), vg.Points(2), vg.Points(2)},
	{vg.Points(4), vg.Points(6)}, {vg.Points(10), vg.Points(2), vg.Points(1), vg.Points(2)}, {vg.Points(3), vg.Points(1)},
}

// plotIndex returns the index of s in *list, appending it when new.
func plotIndex(list *[]string, s string) int {
	for i, x := range *list {
		if x == s {
			return i
		}
	}
	*list = append(*list, s)
	return len(*list) - 1
}

// plotLogTicks labels a log axis at 1, 2 and 5 × 10^k (plot.LogTicks only
// labels powers of ten, which a narrow perplexity range may not contain).
type plotLogTicks struct{}

func (plotLogTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	if !(lo > 0) || !(hi >= lo) {
		return nil
	}
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if v >= lo && v <= hi {
				ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', -1, 64)})
			}
		}
	}
	if len(ticks) < 3 {
		return plot.DefaultTicks{}.Ticks(lo, hi) // a narrow range: linear ticks read better
	}
	return ticks
}

// plotSavePNG renders p as a w × h PNG at path, atomically.
func plotSavePNG(p *plot.Plot, w, h vg.Length, path string) error {
	wt, err := p.WriterTo(w, h, "png")
	if err != nil {
		return fmt.Errorf("plot %s: %w", filepath.Base(path), err)
	}
	return fsutil.WriteFileAtomic(path, func(bw *bufio.Writer) error {
		_, err := wt.WriteTo(bw)
		return err
	})
}

// plotLines draws the series (colour by group, dash by variant) with a
// legend of groups and variants, and writes it to path.
func plotLines(path, title, xLabel, yLabel string, series []plotSeries, logY bool) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	if logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plotLogTicks{}
	}
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	var groups, variants []string
	for _, s := range series {
		pts := make(plotter.XYs, 0, len(s.X))
		for j := range s.X {
			if logY && !(s.Y[j] > 0) || math.IsNaN(s.Y[j]) || math.IsInf(s.Y[j], 0) {
				continue
			}
			pts = append(pts, plotter.XY{X: s.X[j], Y: s.Y[j]})
		}
		g, v := plotIndex(&groups, s.Group), plotIndex(&variants, s.Variant)
		if len(pts) == 0 {
			continue
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return fmt.Errorf("plot %s: series %s %s: %w", filepath.Base(path), s.Group, s.Variant, err)
		}
		l.Color = plotutil.Color(g)
		l.Dashes = plotDashes[v%len(plotDashes)]
		l.Width = vg.Points(1.2)
		p.Add(l)
	}
	for g, name := range groups {
		l := &plotter.Line{LineStyle: plotter.DefaultLineStyle}
		l.Color, l.Width = plotutil.Color(g), vg.Points(2)
		p.Legend.Add(name, l)
	}
	if len(variants) > 1 {
		for v, name := range variants {
			l := &plotter.Line{LineStyle: plotter.DefaultLineStyle}
			l.Color, l.Dashes = color.Gray{Y: 80}, plotDashes[v%len(plotDashes)]
			p.Legend.Add(name, l)
		}
	}
	return plotSavePNG(p, plotLinesWidth, plotLinesHeight, path)
}

// plotGrid is a square matrix shown as a heat map with row 0 at the top:
// row r is drawn at y = n−1−r.
type plotGrid struct{ m [][]float64 }

func (g plotGrid) Dims() (c, r int) { return len(g.m), len(g.m) }
func (g plotGrid) Z(c, r int) float64 {
	if c > r {
		return math.NaN() // masked (future) key: not drawn
	}
	return g.m[r][c]
}
func (g plotGrid) X(c int) float64 { return float64(c) }
func (g plotGrid) Y(r int) float64 { return float64(len(g.m) - 1 - r) }

// plotFlippedTicks labels a y axis whose value v shows row n-1-v.
type plotFlippedTicks struct{ n int }

func (t plotFlippedTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	step := max(1, t.n/8)
	for q := 0; q < t.n; q += step {
		ticks = append(ticks, plot.Tick{Value: float64(t.n - 1 - q), Label: strconv.Itoa(q)})
	}
	return ticks
}

// plotHeatmap draws m[i][j] (query i, key j) with query 0 at the top, like
// StreamingLLM's attention maps, and writes it to path.
func plotHeatmap(path, title string, m [][]float64) error {
	if len(m) == 0 {
		return fmt.Errorf("plot %s: empty attention map", filepath.Base(path))
	}
	hi := 0.0
	for _, r := range m {
		for _, v := range r {
			hi = max(hi, v)
		}
	}
	cm := moreland.SmoothBlueRed()
	cm.SetMin(0)
	cm.SetMax(max(hi, 1e-9))
	hm := plotter.NewHeatMap(plotGrid{m}, cm.Palette(256))
	hm.Min, hm.Max = 0, max(hi, 1e-9)
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "key position"
	p.Y.Label.Text = "query position"
	p.Y.Tick.Marker = plotFlippedTicks{len(m)}
	p.X.Padding, p.Y.Padding = 0, 0
	p.Add(hm)
	return plotSavePNG(p, plotHeatSide, plotHeatSide, path)
}

// plotBars draws grouped bars: groups[g][b] is bar b of group g; bar b is
// named barNames[b] in the legend, group g is labelled groupNames[g].
func plotBars(path, title, yLabel string, groupNames, barNames []string, groups [][]float64) error {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = yLabel
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	nb := len(barNames)
	w := vg.Points(math.Max(2, 200/float64(max(1, nb*len(groupNames)))))
	for b := range nb {
		vals := make(plotter.Values, len(groups))
		for g := range groups {
			vals[g] = groups[g][b]
		}
		bc, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return fmt.Errorf("plot %s: %w", filepath.Base(path), err)
		}
		bc.Color = plotutil.Color(b)
		bc.LineStyle.Width = 0
		bc.LineStyle.Color = color.Transparent
		bc.Offset = vg.Length(float64(b)-float64(nb-1)/2) * w
		p.Add(bc)
		p.Legend.Add(barNames[b], bc)
	}
	p.NominalX(groupNames...)
	hi := 0.0
	for _, g := range groups {
		for _, v := range g {
			hi = max(hi, v)
		}
	}
	p.Y.Min, p.Y.Max = 0, 1.25*max(hi, 1e-3) // room for the legend above the bars
	return plotSavePNG(p, plotBarsWidth, plotBarsHeight, path)
}
