package study

import (
	"bufio"
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/sinktrain/sinktrain/internal/fsutil"
)

// Plot sizes. PNGs are rendered at 96 DPI (vgimg's default), so a 9in ×
// 5.5in figure is 864 × 528 pixels.
const (
	plotDPI        = 96
	plotPanelW     = 6.5 * vg.Inch // one model's panel of the line figure
	plotPanelH     = 3 * vg.Inch
	plotTitleH     = 0.45 * vg.Inch // the figure title band
	plotLegendW    = 1.9 * vg.Inch  // the legend column right of the plots
	plotHeatSide   = 5.5 * vg.Inch
	plotColorBarW  = 1.1 * vg.Inch
	plotCaptionH   = 0.75 * vg.Inch
	plotBarsWidth  = 7*vg.Inch + plotLegendW
	plotBarsHeight = 4 * vg.Inch
)

// plotPixels converts a plot length to PNG pixels.
func plotPixels(l vg.Length) int { return int(math.Round(float64(l/vg.Inch) * plotDPI)) }

// plotLinesSize is the size of a line figure of n panels: one column up
// to three panels, two columns beyond.
func plotLinesSize(n int) (w, h vg.Length) {
	cols := 1
	if n > 3 {
		cols = 2
	}
	rows := (max(n, 1) + cols - 1) / cols
	return vg.Length(cols)*plotPanelW + plotLegendW, vg.Length(rows)*plotPanelH + plotTitleH
}

// plotHeatSize is the size of an attention map figure.
func plotHeatSize() (w, h vg.Length) {
	return plotHeatSide + plotColorBarW, plotHeatSide + plotCaptionH
}

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

// plotPlainTicks are gonum's default ticks labelled without trailing
// zeros ("250", not "250.00").
type plotPlainTicks struct{}

func (plotPlainTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i, t := range ticks {
		if t.Label != "" {
			ticks[i].Label = strconv.FormatFloat(t.Value, 'f', -1, 64)
		}
	}
	return ticks
}

// plotStepTicks labels a linear axis every step (with unlabelled ticks
// every minor).
type plotStepTicks struct{ step, minor float64 }

func (t plotStepTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	per := int(math.Round(t.step / t.minor))
	for i := int(math.Ceil(lo / t.minor)); float64(i)*t.minor <= hi+1e-9; i++ {
		v := float64(i) * t.minor
		l := ""
		if i%per == 0 {
			l = strconv.FormatFloat(math.Round(v*1e9)/1e9, 'f', -1, 64)
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: l})
	}
	return ticks
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
	return plotSaveFigure(path, w, h, func(c draw.Canvas) { p.Draw(c) })
}

// plotSaveFigure renders a w × h figure, drawn by fill on a white canvas,
// as a PNG at path, atomically.
func plotSaveFigure(path string, w, h vg.Length, fill func(draw.Canvas)) (err error) {
	defer func() { // gonum/plot panics on degenerate input (a colour map of one value …)
		if r := recover(); r != nil {
			err = fmt.Errorf("plot %s: %v", filepath.Base(path), r)
		}
	}()
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(plotDPI), vgimg.UseBackgroundColor(color.White))
	fill(draw.New(img))
	png := vgimg.PngCanvas{Canvas: img}
	return fsutil.WriteFileAtomic(path, func(bw *bufio.Writer) error {
		_, err := png.WriteTo(bw)
		return err
	})
}

// plotText writes one line of text centred (xalign −0.5) or left-aligned
// (0) at pt.
func plotText(c draw.Canvas, pt vg.Point, size vg.Length, xalign float64, txt string) {
	sty := text.Style{Font: font.From(plot.DefaultFont, size), Handler: plot.DefaultTextHandler,
		Color: color.Black, XAlign: text.XAlignment(xalign), YAlign: text.YCenter}
	c.FillText(sty, pt, txt)
}

// plotDrawLegend draws the legend l in the column c (entries from its top).
func plotDrawLegend(c draw.Canvas, l plot.Legend) {
	l.Top, l.Left = true, true
	l.XOffs, l.YOffs = vg.Points(8), -vg.Points(8)
	l.Draw(c)
}

// plotLines draws one panel per group (a model), each with one line per
// variant (a cache spec; colour and dash tell variants apart, the same in
// every panel), on a shared y range, with the legend in a column right of
// the panels, and writes the figure to path.
func plotLines(path, title, xLabel, yLabel string, series []plotSeries, logY bool) error {
	var groups, variants []string
	for _, s := range series {
		plotIndex(&groups, s.Group)
		plotIndex(&variants, s.Variant)
	}
	lo, hi, xhi := math.Inf(1), math.Inf(-1), 0.0
	kept := make([]plotter.XYs, len(series))
	for i, s := range series {
		for j := range s.X {
			y := s.Y[j]
			if logY && !(y > 0) || math.IsNaN(y) || math.IsInf(y, 0) {
				continue
			}
			kept[i] = append(kept[i], plotter.XY{X: s.X[j], Y: y})
			lo, hi, xhi = math.Min(lo, y), math.Max(hi, y), math.Max(xhi, s.X[j])
		}
	}
	panels := make([]*plot.Plot, len(groups))
	for g, name := range groups {
		p := plot.New()
		p.Title.Text = name
		p.X.Label.Text = xLabel
		p.Y.Label.Text = yLabel
		if logY {
			p.Y.Scale = plot.LogScale{}
			p.Y.Tick.Marker = plotLogTicks{}
			p.Y.Label.Text = yLabel + " (log scale)"
		}
		if lo <= hi {
			p.Y.Min, p.Y.Max = lo, hi
		}
		p.X.Min, p.X.Max = 0, xhi
		p.X.Tick.Marker = plotPlainTicks{}
		p.Add(plotter.NewGrid())
		panels[g] = p
	}
	var legend plot.Legend = plot.NewLegend()
	legend.TextStyle.Font.Size = vg.Points(10)
	legend.Padding = vg.Points(3)
	legend.ThumbnailWidth = vg.Points(28)
	style := func(v int) draw.LineStyle {
		return draw.LineStyle{Color: plotutil.Color(v), Width: vg.Points(1.4), Dashes: plotDashes[v%len(plotDashes)]}
	}
	for v, name := range variants {
		legend.Add(name, &plotter.Line{LineStyle: style(v)})
	}
	for i, s := range series {
		if len(kept[i]) == 0 {
			continue
		}
		l, err := plotter.NewLine(kept[i])
		if err != nil {
			return fmt.Errorf("plot %s: series %s %s: %w", filepath.Base(path), s.Group, s.Variant, err)
		}
		l.LineStyle = style(plotIndex(&variants, s.Variant))
		panels[plotIndex(&groups, s.Group)].Add(l)
	}
	w, h := plotLinesSize(len(groups))
	cols := 1
	if len(groups) > 3 {
		cols = 2
	}
	return plotSaveFigure(path, w, h, func(c draw.Canvas) {
		plotText(c, vg.Point{X: (w - plotLegendW) / 2, Y: h - plotTitleH/2}, vg.Points(14), -0.5, title)
		for g, p := range panels {
			r, col := g/cols, g%cols
			x0 := vg.Length(col) * plotPanelW
			y1 := h - plotTitleH - vg.Length(r)*plotPanelH
			p.Draw(draw.Crop(c, x0+vg.Points(4), x0+plotPanelW-w-vg.Points(8), y1-plotPanelH+vg.Points(6), y1-h-vg.Points(10)))
		}
		plotDrawLegend(draw.Crop(c, w-plotLegendW, 0, 0, -plotTitleH), legend)
	})
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

// plotHeatmap draws m[i][j] (query i, key j) with query 0 at the top, like
// StreamingLLM's attention maps, a colour bar of the weights right of it and
// caption (two lines) under it, and writes it to path.
func plotHeatmap(path, title string, m [][]float64, caption [2]string) error {
	if len(m) == 0 {
		return fmt.Errorf("plot %s: empty attention map", filepath.Base(path))
	}
	hi := 0.0
	for _, r := range m {
		for _, v := range r {
			hi = max(hi, v)
		}
	}
	hi = max(hi, 1e-9)
	cm := moreland.SmoothBlueRed()
	cm.SetMin(0)
	cm.SetMax(hi)
	hm := plotter.NewHeatMap(plotGrid{m}, cm.Palette(256))
	hm.Min, hm.Max = 0, hi
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "key position j"
	p.Y.Label.Text = "query position i"
	p.X.Tick.Marker = plotPositionTicks{n: len(m)}
	p.Y.Tick.Marker = plotPositionTicks{n: len(m), flipped: true}
	p.X.Padding, p.Y.Padding = 0, 0
	p.Add(hm)

	bar := plot.New()
	bar.Title.Text = " " // aligns the bar with the map below the map's title
	bar.HideX()
	bar.Y.Label.Text = "attention weight"
	bar.Y.Padding = 0
	bar.Add(&plotter.ColorBar{ColorMap: cm, Vertical: true})
	w, h := plotHeatSize()
	return plotSaveFigure(path, w, h, func(c draw.Canvas) {
		p.Draw(draw.Crop(c, 0, -plotColorBarW, plotCaptionH, 0))
		bar.Draw(draw.Crop(c, plotHeatSide+vg.Points(6), -vg.Points(12), plotCaptionH+vg.Points(38), -vg.Points(0)))
		for i, line := range caption {
			plotText(c, vg.Point{X: vg.Points(12), Y: plotCaptionH - vg.Length(i+1)*vg.Points(15)}, vg.Points(10), 0, line)
		}
	})
}

// plotPositionTicks labels token positions 0 … n−1 every 8 (every 16 from
// 128 on, and so on), with the last position labelled; flipped labels a
// y axis whose value v shows row n−1−v (row 0 at the top).
type plotPositionTicks struct {
	n       int
	flipped bool
}

func (t plotPositionTicks) Ticks(lo, hi float64) []plot.Tick {
	step := 1
	for t.n/step > 10 {
		step *= 2
	}
	var ticks []plot.Tick
	add := func(q int, label bool) {
		v := float64(q)
		if t.flipped {
			v = float64(t.n - 1 - q)
		}
		l := ""
		if label {
			l = strconv.Itoa(q)
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: l})
	}
	for q := 0; q < t.n; q += step {
		add(q, q+step/2 < t.n || q == t.n-1)
	}
	if (t.n-1)%step != 0 {
		add(t.n-1, true)
	}
	return ticks
}

// plotBars draws grouped bars: groups[g][b] is bar b of group g; bar b is
// named barNames[b] in the legend, group g is labelled groupNames[g]. The y
// axis spans [0, 1] (the bars are attention weights); threshold > 0 draws
// a dashed line at it, named thresholdName in the legend, which sits in a
// column right of the plot, clear of every bar.
func plotBars(path, title, yLabel string, groupNames, barNames []string, groups [][]float64, threshold float64, thresholdName string) error {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = yLabel
	grid := plotter.NewGrid()
	grid.Vertical.Color = nil // the groups are nominal
	p.Add(grid)
	var legend plot.Legend = plot.NewLegend()
	legend.TextStyle.Font.Size = vg.Points(10)
	legend.Padding = vg.Points(3)
	nb := len(barNames)
	w := vg.Points(math.Max(2, 300/float64(max(1, nb*len(groupNames)))))
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
		legend.Add(barNames[b], bc)
	}
	p.NominalX(groupNames...)
	p.X.Min, p.X.Max = -0.5, float64(len(groupNames))-0.5 // whole groups, and the threshold line across them
	p.Y.Min, p.Y.Max = 0, 1
	p.Y.Tick.Marker = plotStepTicks{step: 0.2, minor: 0.1}
	if threshold > 0 {
		f := plotter.NewFunction(func(float64) float64 { return threshold })
		f.LineStyle = draw.LineStyle{Color: color.Black, Width: vg.Points(1.2), Dashes: []vg.Length{vg.Points(6), vg.Points(3)}}
		p.Add(f)
		legend.Add(thresholdName, f)
	}
	return plotSaveFigure(path, plotBarsWidth, plotBarsHeight, func(c draw.Canvas) {
		p.Draw(draw.Crop(c, 0, -plotLegendW, 0, 0))
		plotDrawLegend(draw.Crop(c, plotBarsWidth-plotLegendW, 0, 0, -vg.Points(30)), legend)
	})
}
