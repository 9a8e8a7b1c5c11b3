package study

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/sinktrain/sinktrain/internal/input"
)

// CurvesOptions are the arguments of [PlotCurves].
type CurvesOptions struct {
	Runs []NamedModel // run directories (their metrics.jsonl), NAME labels each curve
	Out  string       // the PNG to write
}

// CurvePoint is one metrics.jsonl line's training loss (and validation
// loss, when that step measured it).
type CurvePoint struct {
	Tokens  int64
	Loss    float64
	ValLoss float64 // NaN when absent
}

// ReadCurve reads a run's metrics.jsonl (sinktrain's trainer and the GPU
// recipe write the same fields).
func ReadCurve(run string) ([]CurvePoint, error) {
	path := filepath.Join(run, "metrics.jsonl")
	f, err := os.Open(path)
	if err != nil {
		return nil, input.File("Runs", "metrics file", path, err)
	}
	defer f.Close()
	var out []CurvePoint
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var m struct {
			Tokens  int64    `json:"tokens"`
			Loss    *float64 `json:"loss"`
			ValLoss *float64 `json:"val_loss"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil || m.Loss == nil {
			return nil, input.Errorf("Runs", "metrics file", path, "line %d is not a metrics object with tokens and loss", line)
		}
		p := CurvePoint{Tokens: m.Tokens, Loss: *m.Loss, ValLoss: math.NaN()}
		if m.ValLoss != nil {
			p.ValLoss = *m.ValLoss
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, input.File("Runs", "metrics file", path, err)
	}
	if len(out) == 0 {
		return nil, input.Errorf("Runs", "metrics file", path, "holds no metrics lines")
	}
	return out, nil
}

// PlotCurves overlays the training loss (lines) and validation loss
// (markers) of several runs against training tokens, e.g. the CPU trainer
// and the GPU recipe on the same data and config.
func PlotCurves(o *CurvesOptions) error {
	if len(o.Runs) == 0 {
		return input.Errorf("Runs", "run", "", "none given")
	}
	if !strings.HasSuffix(o.Out, ".png") {
		return input.Usagef("Out", "plot file", o.Out, "expected a .png file name")
	}
	if st, err := os.Stat(filepath.Dir(o.Out)); err != nil || !st.IsDir() {
		return input.Errorf("Out", "plot file", o.Out, "its directory %s does not exist", filepath.Dir(o.Out))
	}
	p := plot.New()
	p.Title.Text = "Training loss by run"
	p.Title.Padding = vg.Points(8)
	p.X.Label.Text = "training tokens (millions)"
	p.Y.Label.Text = "loss (nats per token; lines: training, markers: validation)"
	p.Add(plotter.NewGrid())
	legend := plot.NewLegend()
	legend.TextStyle.Font.Size = vg.Points(9)
	for i, r := range o.Runs {
		pts, err := ReadCurve(r.Path)
		if err != nil {
			return err
		}
		var tr, val plotter.XYs
		for _, q := range pts {
			x := float64(q.Tokens) / 1e6
			tr = append(tr, plotter.XY{X: x, Y: q.Loss})
			if !math.IsNaN(q.ValLoss) {
				val = append(val, plotter.XY{X: x, Y: q.ValLoss})
			}
		}
		l, err := plotter.NewLine(tr)
		if err != nil {
			return fmt.Errorf("plot %s: %s: %w", filepath.Base(o.Out), r.Name, err)
		}
		l.Color, l.Width = plotutil.Color(i), vg.Points(1.3)
		l.Dashes = plotDashes[i%len(plotDashes)]
		p.Add(l)
		legend.Add(r.Name+" (train)", l)
		if len(val) > 0 {
			s, err := plotter.NewScatter(val)
			if err != nil {
				return fmt.Errorf("plot %s: %s: %w", filepath.Base(o.Out), r.Name, err)
			}
			s.Color, s.Shape, s.Radius = plotutil.Color(i), plotutil.Shape(i), vg.Points(4)
			p.Add(s)
			legend.Add(r.Name+" (val)", s)
		}
	}
	p.Y.Tick.Marker = plotPlainTicks{}
	return plotWithLegendRight(p, legend, 10*vg.Inch, 5.5*vg.Inch, 2.1*vg.Inch, o.Out)
}
