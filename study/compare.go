package study

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/sinktrain/sinktrain/infer"
	"github.com/sinktrain/sinktrain/internal/fsutil"
	"github.com/sinktrain/sinktrain/internal/input"
	"github.com/sinktrain/sinktrain/model"
	"github.com/sinktrain/sinktrain/sinktoken"
)

// NamedModel is one --model NAME=CKPT argument of compare.
type NamedModel struct {
	Name string // the table row label
	Path string // a run/checkpoint directory or a plain Hugging Face model folder
}

// ParseNamedModel parses "NAME=CKPT".
func ParseNamedModel(s string) (NamedModel, error) {
	name, path, ok := strings.Cut(s, "=")
	name, path = strings.TrimSpace(name), strings.TrimSpace(path)
	if !ok || name == "" || path == "" {
		return NamedModel{}, input.Errorf("Models", "model", strconv.Quote(s), "expected NAME=CKPT (e.g. vanilla=runs/vanilla)")
	}
	if strings.ContainsAny(name, "|\n\r") {
		return NamedModel{}, input.Errorf("Models", "model", strconv.Quote(s), "NAME must not contain '|' or a newline (it labels a Markdown table row)")
	}
	return NamedModel{Name: name, Path: path}, nil
}

// CompareOptions configures Compare (sinktrain compare).
type CompareOptions struct {
	Models []NamedModel
	// Source is the stream; each model's sinks are prepended to text and
	// data. Its AllowDifferentTokenizers also compares models whose
	// tokenizer.json differ.
	Source
	Engine            // chunk size, exact steps, weight dtype
	Caches   []string // cache specs (infer.ParseCacheSpec syntax), the table's columns
	Out      string   // output directory
	Jobs     int      // (model, spec) passes run at once (0: GOMAXPROCS); results do not depend on it
	Progress io.Writer
	Stdout   io.Writer // where the table is printed (nil: os.Stdout)
}

// Comparison output files, written into CompareOptions.Out.
const (
	CompareJSON = "results.json"
	CompareCSV  = "results.csv"
	CompareMD   = "table.md"
	ComparePlot = "ppl_vs_position.png"
)

// compareOutput is what Compare writes into its output directory.
var compareOutput = cmpOutput{what: "compare output", marker: CompareJSON, owned: func(name string) bool {
	switch name {
	case CompareJSON, CompareCSV, CompareMD, ComparePlot:
		return true
	}
	return false
}}

// cmpRollingWindow is the trailing window (scored tokens) of the rolling
// perplexity plot; the stride is chosen so each line has ≤ ~400 points.
const cmpRollingWindow = 128

// Compare evaluates every model under every cache spec, one streaming pass
// per (model, spec) through the same code as eval stream, and writes
// results.json, results.csv, table.md and ppl_vs_position.png into o.Out
// (staged in a temporary directory, so a failed run leaves nothing partial).
// It prints the table to o.Stdout.
func Compare(ctx context.Context, o *CompareOptions) error {
	if err := o.validate(); err != nil {
		return err
	}
	models, err := cmpDescribeModels(o.Models, o.AllowDifferentTokenizers)
	if err != nil {
		return err
	}
	stage, err := cmpNewStage(o.Out, compareOutput)
	if err != nil {
		return err
	}
	defer stage.abort()

	res := &CompareResults{Source: o.Source.Name(), MaxTokens: o.MaxTokens, Caches: o.Caches, Models: models}
	jobs := o.Jobs
	if jobs <= 0 {
		jobs = runtime.GOMAXPROCS(0)
	}
	sem := make(chan struct{}, jobs) // bounds the streaming passes running at once
	per := make([][]CompareResult, len(o.Models))
	errs := make([]error, len(o.Models))
	var wg sync.WaitGroup
	for i, m := range o.Models {
		wg.Add(1)
		go func() {
			defer wg.Done()
			per[i], errs[i] = cmpEvalModel(ctx, o, m, sem)
		}()
	}
	wg.Wait()
	for i, m := range o.Models {
		if errs[i] != nil {
			return fmt.Errorf("model %s: %w", m.Name, errs[i])
		}
		res.Results = append(res.Results, per[i]...)
	}
	return stage.finish(func() error { return cmpWriteAll(stage, res) }, o.Stdout, res.Table())
}

func (o *CompareOptions) validate() error {
	if len(o.Models) == 0 {
		return input.Errorf("Models", "models", "", "none given, expected at least one NAME=CKPT")
	}
	seen := map[string]bool{}
	for _, m := range o.Models {
		if seen[m.Name] {
			return input.Usagef("Models", "model name", strconv.Quote(m.Name), "given twice (duplicate model name), expected unique names")
		}
		seen[m.Name] = true
	}
	if err := o.Source.check(); err != nil {
		return err
	}
	if _, err := infer.ParseDType(o.DType); err != nil {
		return err
	}
	if _, err := parseSpecs(o.Caches); err != nil {
		return err
	}
	seenC := map[string]bool{}
	for _, c := range o.Caches {
		if seenC[c] {
			return input.Usagef("Cache", "cache spec", strconv.Quote(c), "given twice")
		}
		seenC[c] = true
	}
	return nil
}

// cmpDescribeModels reads each model's config and tokenizer.json and checks
// that all tokenizers are identical (byte for byte) unless allowDiff.
func cmpDescribeModels(ms []NamedModel, allowDiff bool) ([]CompareModel, error) {
	var out []CompareModel
	for _, m := range ms {
		cfg, err := cmpReadConfig(m.Path)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", m.Name, err)
		}
		tokPath := filepath.Join(m.Path, "tokenizer.json")
		sum, err := cmpFileSHA256(tokPath)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", m.Name, err)
		}
		att := cfg.Attention
		if att == "" {
			att = sinktoken.Softmax
		}
		cm := CompareModel{Name: m.Name, Checkpoint: m.Path, Attention: string(att), Sinks: len(cfg.SinkIDs), TokenizerSHA256: sum}
		if len(out) > 0 && sum != out[0].TokenizerSHA256 && !allowDiff {
			return nil, input.Errorf("Models", "model", m.Name+"="+m.Path, "has a different tokenizer.json (%s) than model %s (%s): perplexities would not be comparable",
				tokPath, out[0].Name, filepath.Join(out[0].Checkpoint, "tokenizer.json")).(*input.Error).Overridable("AllowDifferentTokenizers", "allow different tokenizers")
		}
		out = append(out, cm)
	}
	return out, nil
}

func cmpFileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// cmpWriteAll writes the four output files into the stage.
func cmpWriteAll(stage *cmpStage, res *CompareResults) error {
	writers := []struct {
		name  string
		write func(*bufio.Writer) error
	}{
		{CompareJSON, res.writeJSON},
		{CompareCSV, res.writeCSV},
		{CompareMD, func(w *bufio.Writer) error { _, err := w.WriteString(res.Table()); return err }},
	}
	for _, wr := range writers {
		if err := fsutil.WriteFileAtomic(stage.path(wr.name), wr.write); err != nil {
			return err
		}
	}
	var series []plotSeries
	for _, x := range res.Results {
		s := plotSeries{Group: x.Model, Variant: x.Cache}
		for i, ix := range x.RollingIndex {
			s.X = append(s.X, float64(ix))
			s.Y = append(s.Y, x.Rolling[i])
		}
		series = append(series, s)
	}
	title := fmt.Sprintf("Rolling perplexity (last %d tokens)", cmpRollingWindow)
	return plotLines(stage.path(ComparePlot), title, "stream position", "perplexity", series, true)
}

// cmpReadConfig parses dir/config.json.
func cmpReadConfig(dir string) (model.Config, error) {
	p := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(p)
	if err != nil {
		return model.Config{}, err
	}
	cfg, _, err := model.ParseConfig(b)
	if err != nil {
		return model.Config{}, fmt.Errorf("%s: %w", p, err)
	}
	return cfg, nil
}
