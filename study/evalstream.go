package study

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/sinktrain/sinktrain/infer"
	"github.com/sinktrain/sinktrain/internal/fsutil"
	"github.com/sinktrain/sinktrain/internal/input"
)

// EvalOptions configures EvalStream (sinktrain eval stream).
type EvalOptions struct {
	Model string // run/checkpoint directory or plain Hugging Face model folder
	Source
	Engine
	Caches []string // cache specs (infer.ParseCacheSpec), evaluated one after another
	// NLLOut writes index,token_id,nll per scored target. With several
	// caches, one file per spec: "nll.csv" becomes "nll.4+252.csv",
	// "nll.dense.csv", "nll.recompute-256.csv".
	NLLOut   string
	JSON     bool      // one JSON object per spec instead of a table
	Out      io.Writer // results (nil: os.Stdout)
	Progress io.Writer // progress bar or log lines (nil: none)
}

// Result is one cache spec's streaming evaluation (eval stream's JSON
// object, DESIGN.md §6).
type Result struct {
	Cache     string  `json:"cache"`
	Tokens    int     `json:"tokens"` // scored targets
	NLL       float64 `json:"nll"`    // mean natural-log NLL
	PPL       float64 `json:"ppl"`    // exp(NLL)
	TokS      float64 `json:"tok_s"`  // fed tokens per second
	PeakRSSMB float64 `json:"peak_rss_mb"`
}

// newResult turns one Score pass under spec into its Result.
func newResult(spec infer.CacheSpec, s infer.Scores) Result {
	return Result{Cache: spec.String(), Tokens: s.Targets, NLL: s.NLL, PPL: s.PPL(), TokS: s.TokensPerSecond(), PeakRSSMB: PeakRSSMB()}
}

// EvalStream evaluates the streaming perplexity of a model under each cache
// spec (DESIGN.md §6) and prints one result per spec: a table, or one JSON
// object per line.
func EvalStream(ctx context.Context, o *EvalOptions) error {
	specs, err := parseSpecs(o.Caches)
	if err != nil {
		return err
	}
	if err := o.Source.check(); err != nil {
		return err
	}
	if _, err := infer.ParseDType(o.DType); err != nil {
		return err
	}
	m, err := o.load(o.Model)
	if err != nil {
		return err
	}
	stream, closeStream, err := o.Source.Open(o.Model, m)
	if err != nil {
		return err
	}
	defer closeStream()
	out := o.Out
	if out == nil {
		out = os.Stdout
	}
	var results []Result
	for _, spec := range specs {
		r, err := o.evalOne(ctx, m, spec, stream, len(specs) > 1)
		if err != nil {
			return fmt.Errorf("cache %s: %w", spec, err)
		}
		if o.JSON {
			b, _ := json.Marshal(r)
			fmt.Fprintf(out, "%s\n", b)
		}
		results = append(results, r)
	}
	if !o.JSON {
		return writeTable(out, results)
	}
	return nil
}

// parseSpecs parses at least one cache spec.
func parseSpecs(caches []string) ([]infer.CacheSpec, error) {
	if len(caches) == 0 {
		return nil, input.Errorf("Cache", "cache specs", "", "none given, expected at least one (e.g. 4+252, dense, recompute:256)")
	}
	specs := make([]infer.CacheSpec, len(caches))
	for i, c := range caches {
		s, err := infer.ParseCacheSpec(c)
		if err != nil {
			return nil, err
		}
		specs[i] = s
	}
	return specs, nil
}

// evalOne scores the stream under one spec, streaming NLLs to the CSV.
func (o *EvalOptions) evalOne(ctx context.Context, m *infer.Model, spec infer.CacheSpec, s infer.Stream, several bool) (Result, error) {
	p := newProgress(o.Progress, "eval "+spec.String(), s.Len()-1)
	defer p.Finish()
	if o.NLLOut == "" {
		so := o.score(1)
		so.OnProgress = p.setDone
		sc, err := infer.Score(ctx, m, spec, s, so)
		return newResult(spec, sc), err
	}
	path := o.NLLOut
	if several {
		path = NLLPath(o.NLLOut, spec)
	}
	var sc infer.Scores
	err := fsutil.WriteFileAtomic(path, func(w *bufio.Writer) error {
		w.WriteString("index,token_id,nll\n")
		var line []byte
		var err error
		so := o.score(1)
		so.OnProgress = p.setDone
		so.OnNLL = func(i int, tok int32, nll float64) error {
			line = strconv.AppendInt(line[:0], int64(i), 10)
			line = append(line, ',')
			line = strconv.AppendInt(line, int64(tok), 10)
			line = append(line, ',')
			line = strconv.AppendFloat(line, nll, 'g', 8, 64)
			line = append(line, '\n')
			_, err := w.Write(line)
			return err
		}
		sc, err = infer.Score(ctx, m, spec, s, so)
		return err
	})
	if err != nil {
		return Result{}, input.File("NLLOut", "NLL file", path, err)
	}
	return newResult(spec, sc), nil
}

// NLLPath names the NLL file of one spec when several are evaluated: the
// spec (":" written as "-") goes before the extension.
func NLLPath(base string, spec infer.CacheSpec) string {
	ext := filepath.Ext(base)
	return strings.TrimSuffix(base, ext) + "." + strings.ReplaceAll(spec.String(), ":", "-") + ext
}

// writeTable prints the results as an aligned table.
func writeTable(w io.Writer, rs []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "cache\ttokens\tnll\tppl\ttok/s\tpeak RSS MB\t")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%d\t%.4f\t%.3f\t%.0f\t%.1f\t\n", r.Cache, r.Tokens, r.NLL, r.PPL, r.TokS, r.PeakRSSMB)
	}
	return tw.Flush()
}
