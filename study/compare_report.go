package study

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/sinktrain/sinktrain/infer"
	"github.com/sinktrain/sinktrain/internal/fsutil"
	"github.com/sinktrain/sinktrain/internal/input"
)

// ReportOptions configures RenderResults (sinktrain compare report), which
// turns a compare directory and one inspect directory per model into the
// study's Markdown write-up (docs/results.md).
type ReportOptions struct {
	Compare string       // a compare --out directory (results.json, ppl_vs_position.png)
	Inspect []NamedModel // NAME=DIR: inspect attention --out directory of each compared model
	Out     string       // the Markdown file to write (e.g. docs/results.md)
	// Assets is the directory the plots are copied into (default: Out
	// without its extension, e.g. docs/results/); the Markdown links them
	// relative to Out.
	Assets  string
	Command string // the exact command that produced the numbers (quoted in the report)
	Notes   string // free text put under the title (budget, machine, date)
}

// cmpHurtThreshold is the relative perplexity change below which evicting
// the sinks is reported as having no measurable effect.
const cmpHurtThreshold = 0.01

// RenderResults reads results.json and every attention.json and writes
// o.Out: the perplexity table, and per model its dense perplexity, each
// cache's perplexity, Sink_0^ε, α_0 by layer and a plain statement of
// whether (and by how much) evicting the first tokens hurts it. The plots
// are copied into o.Assets.
func RenderResults(o *ReportOptions) error {
	if o.Compare == "" {
		return input.Errorf("Compare", "compare directory", "", "none given")
	}
	if o.Out == "" {
		return input.Errorf("Out", "report file", "", "none given")
	}
	if !strings.EqualFold(filepath.Ext(o.Out), ".md") {
		return input.Usagef("Out", "report file", o.Out, "expected a Markdown file name ending in .md (e.g. docs/results.md)")
	}
	if fi, err := os.Stat(o.Out); err == nil && fi.IsDir() {
		return input.Errorf("Out", "report file", o.Out, "is a directory, expected a Markdown file (e.g. %s)", filepath.Join(o.Out, "results.md"))
	}
	var res CompareResults
	if err := cmpReadJSON(filepath.Join(o.Compare, CompareJSON), &res); err != nil {
		return err
	}
	reps := map[string]*AttentionReport{}
	for _, in := range o.Inspect {
		if res.model(in.Name) == nil {
			return input.Errorf("Inspect", "inspect output", in.Name+"="+in.Path, "no model %q in %s", in.Name, filepath.Join(o.Compare, CompareJSON))
		}
		var r AttentionReport
		if err := cmpReadJSON(filepath.Join(in.Path, InspectJSON), &r); err != nil {
			return err
		}
		reps[in.Name] = &r
	}
	assets := o.Assets
	if assets == "" {
		assets = strings.TrimSuffix(o.Out, filepath.Ext(o.Out))
	}
	rel, err := filepath.Rel(filepath.Dir(o.Out), assets)
	if err != nil {
		return input.New("Assets", "assets directory", assets, err)
	}
	if filepath.Clean(assets) == filepath.Clean(o.Out) {
		return input.Errorf("Assets", "assets directory", assets, "is the report file itself, expected a directory beside it")
	}
	if err := cmpCheckWritable(filepath.Dir(o.Out)); err != nil {
		return input.New("Out", "report file", o.Out, err)
	}
	stage, err := cmpNewStage(assets, reportAssets)
	if err != nil {
		return input.New("Assets", "assets directory", assets, errors.Unwrap(err))
	}
	defer stage.abort()
	copies := [][2]string{{filepath.Join(o.Compare, ComparePlot), ComparePlot}}
	for _, in := range o.Inspect {
		r := reps[in.Name]
		copies = append(copies, [2]string{filepath.Join(in.Path, InspectAlpha), in.Name + "-" + InspectAlpha})
		if r.Layers > 0 {
			last := InspectHeatmapFile(r.Layers - 1)
			copies = append(copies, [2]string{filepath.Join(in.Path, last), in.Name + "-" + last})
		}
	}
	for _, c := range copies {
		if err := cmpCopyFile(c[0], stage.path(c[1])); err != nil {
			return err
		}
	}
	if err := stage.commit(); err != nil {
		return err
	}
	md := res.report(reps, o, filepath.ToSlash(rel))
	return fsutil.WriteFileAtomic(o.Out, func(w *bufio.Writer) error { _, err := w.WriteString(md); return err })
}

// reportAssets is the plots directory of a report: PNGs only.
var reportAssets = cmpOutput{what: "report plots", owned: func(name string) bool { return strings.HasSuffix(name, ".png") }}

// cmpCheckWritable makes dir (and its parents) and checks a file can be
// created in it.
func cmpCheckWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fsutil.Cause(err)
	}
	probe, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return fmt.Errorf("not writable: %w", fsutil.Cause(err))
	}
	probe.Close()
	return os.Remove(probe.Name())
}

// model returns the described model called name, or nil.
func (r *CompareResults) model(name string) *CompareModel {
	for i := range r.Models {
		if r.Models[i].Name == name {
			return &r.Models[i]
		}
	}
	return nil
}

// report renders the Markdown write-up; assets is the plots' directory
// relative to the Markdown file.
func (r *CompareResults) report(reps map[string]*AttentionReport, o *ReportOptions, assets string) string {
	var b strings.Builder
	names := make([]string, len(r.Models))
	for i, m := range r.Models {
		names[i] = m.Name
	}
	fmt.Fprintf(&b, "# Results: %s under sink + window caching\n\n", strings.Join(names, " vs "))
	if o.Notes != "" {
		b.WriteString(strings.TrimSpace(o.Notes) + "\n\n")
	}
	if o.Command != "" {
		fmt.Fprintf(&b, "Produced by:\n\n```\n%s\n```\n\n", strings.TrimSpace(o.Command))
	}
	b.WriteString("## Streaming perplexity\n\n")
	b.WriteString(r.Table())
	fmt.Fprintf(&b, "\n![rolling perplexity over the stream](%s/%s)\n\n", assets, ComparePlot)
	b.WriteString("## Per model\n")
	for _, m := range r.Models {
		fmt.Fprintf(&b, "\n### %s (%s, %s)\n\n", m.Name, cmpSinksLabel(m.Sinks), m.Attention)
		if m.Checkpoint != "" {
			fmt.Fprintf(&b, "- checkpoint: `%s`\n", m.Checkpoint)
		}
		if d := r.Result(m.Name, "dense"); d != nil {
			fmt.Fprintf(&b, "- dense perplexity: %s\n", cmpFormatPPL(d))
		}
		var cells []string
		for _, c := range r.Caches {
			if c == "dense" {
				continue
			}
			cells = append(cells, fmt.Sprintf("%s %s", c, cmpFormatPPL(r.Result(m.Name, c))))
		}
		if len(cells) > 0 {
			fmt.Fprintf(&b, "- cache perplexities: %s\n", strings.Join(cells, "; "))
		}
		if a := reps[m.Name]; a != nil {
			fmt.Fprintf(&b, "- Sink_0^%g = %.3f (%d of %d layer×head pairs put α_0 > %g), over the first %d tokens\n",
				a.Epsilon, a.SinkRate[0], int(math.Round(a.SinkRate[0]*float64(a.Layers*a.Heads))), a.Layers*a.Heads, a.Epsilon, a.Tokens)
			var al []string
			for l, x := range a.AlphaLayer {
				al = append(al, fmt.Sprintf("L%d %.3f", l, x[0]))
			}
			fmt.Fprintf(&b, "- α_0 by layer (mean over heads): %s\n", strings.Join(al, ", "))
			if m.Sinks > 1 && len(a.AlphaLayer) > 0 {
				var ak []string
				for k := 0; k < m.Sinks && k < SinkPositions; k++ {
					ak = append(ak, fmt.Sprintf("α_%d %.3f", k, a.AlphaLayer[len(a.AlphaLayer)-1][k]))
				}
				fmt.Fprintf(&b, "- last layer, each sink position: %s\n", strings.Join(ak, ", "))
			}
		}
		fmt.Fprintf(&b, "- evicting the first tokens: %s\n", r.evictionVerdict(m))
		if reps[m.Name] != nil {
			a := reps[m.Name]
			fmt.Fprintf(&b, "\n![α_0 per layer and head](%s/%s-%s) ![last layer attention map](%s/%s-%s)\n",
				assets, m.Name, InspectAlpha, assets, m.Name, InspectHeatmapFile(a.Layers-1))
		}
	}
	return b.String()
}

// evictionVerdict compares, at each cache size S, window attention 0+S with
// the K+(S−K) spec that keeps the model's sinks (K = its sink count, or the
// largest K given for a model without sinks), and says plainly whether
// dropping the first tokens hurts and by how much.
func (r *CompareResults) evictionVerdict(m CompareModel) string {
	type sw struct{ k, w int }
	var specs []sw
	for _, c := range r.Caches {
		s, err := infer.ParseCacheSpec(c)
		if err == nil && s.Kind == infer.SinkWindow {
			specs = append(specs, sw{s.Sinks, s.Window})
		}
	}
	var parts []string
	worst, best := math.Inf(-1), math.Inf(1)
	for _, win := range specs {
		if win.k != 0 {
			continue
		}
		S := win.w
		k := -1
		for _, s := range specs {
			if s.k == 0 || s.k+s.w != S {
				continue
			}
			if s.k == m.Sinks || (k != m.Sinks && s.k > k) {
				k = s.k
			}
		}
		if k < 0 {
			continue
		}
		keep := r.Result(m.Name, fmt.Sprintf("%d+%d", k, S-k))
		drop := r.Result(m.Name, fmt.Sprintf("0+%d", S))
		if keep == nil || drop == nil {
			continue
		}
		rel := drop.PPL/keep.PPL - 1
		if math.IsNaN(rel) {
			continue
		}
		worst, best = max(worst, rel), min(best, rel)
		parts = append(parts, fmt.Sprintf("0+%d %s vs %d+%d %s (%s)", S, cmpFormatPPL(drop), k, S-k, cmpFormatPPL(keep), cmpFormatChange(rel)))
	}
	if len(parts) == 0 {
		return "not measured (give both 0+S and K+(S−K) cache specs)"
	}
	var verdict string
	switch {
	case math.IsInf(worst, 1) || worst > cmpHurtThreshold:
		verdict = fmt.Sprintf("**hurts** (up to %s)", cmpFormatChange(worst))
	case best < -cmpHurtThreshold && worst < cmpHurtThreshold:
		verdict = "does not hurt (window attention is even better)"
	default:
		verdict = fmt.Sprintf("does not hurt (within %.0f%%)", 100*cmpHurtThreshold)
	}
	return verdict + ": " + strings.Join(parts, "; ")
}

// cmpFormatChange formats a relative change as a signed percentage, or as
// a factor once the perplexity has more than doubled.
func cmpFormatChange(rel float64) string {
	switch {
	case math.IsInf(rel, 1):
		return "×inf"
	case rel >= 1:
		return fmt.Sprintf("×%.1f", 1+rel)
	}
	return fmt.Sprintf("%+.1f%%", 100*rel)
}

// cmpSinksLabel returns "1 sink" or "k sinks".
func cmpSinksLabel(k int) string {
	if k == 1 {
		return "1 sink"
	}
	return fmt.Sprintf("%d sinks", k)
}

func cmpReadJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, input.JSON(err))
	}
	return nil
}

func cmpCopyFile(src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	return fsutil.WriteFileAtomic(dst, func(w *bufio.Writer) error {
		_, err := io.Copy(w, f)
		return err
	})
}
