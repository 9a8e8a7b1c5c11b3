package study

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// CompareResults is what sinktrain compare writes as results.json.
type CompareResults struct {
	Source    string          `json:"source"`     // the --text file or --data directory
	MaxTokens int             `json:"max_tokens"` // 0: the whole stream
	Caches    []string        `json:"caches"`     // cache specs in --cache order (the table's columns)
	Models    []CompareModel  `json:"models"`     // in --model order (the table's rows)
	Results   []CompareResult `json:"results"`    // one per (model, cache), model-major
}

// CompareModel describes one compared model.
type CompareModel struct {
	Name            string `json:"name"`
	Checkpoint      string `json:"checkpoint"`
	Attention       string `json:"attention"`
	Sinks           int    `json:"sinks"`
	TokenizerSHA256 string `json:"tokenizer_sha256"`
}

// CompareResult is one (model, cache) streaming evaluation, with the numbers
// eval stream reports for the same model and spec.
type CompareResult struct {
	Model     string  `json:"model"`
	Cache     string  `json:"cache"`
	Tokens    int     `json:"tokens"` // scored targets
	NLL       float64 `json:"nll"`    // mean natural-log NLL
	PPL       float64 `json:"ppl"`    // exp(nll)
	TokS      float64 `json:"tok_s"`
	PeakRSSMB float64 `json:"peak_rss_mb"`
	// Rolling is the perplexity over a trailing window of RollingWindow
	// scored tokens, sampled every RollingStride targets (for the plot).
	RollingWindow int       `json:"rolling_window"`
	RollingIndex  []int     `json:"rolling_index"` // target index in the fed stream
	Rolling       []float64 `json:"rolling_ppl"`
}

// Result returns the result of (model, cache), or nil.
func (r *CompareResults) Result(model, cache string) *CompareResult {
	for i := range r.Results {
		if r.Results[i].Model == model && r.Results[i].Cache == cache {
			return &r.Results[i]
		}
	}
	return nil
}

// cmpFormatPPL formats a perplexity for the table: two decimals, "inf" or
// "nan" when the stream diverged, "–" when missing.
func cmpFormatPPL(r *CompareResult) string {
	switch {
	case r == nil:
		return "–"
	case math.IsInf(r.PPL, 1):
		return "inf"
	case math.IsNaN(r.PPL):
		return "nan"
	}
	return strconv.FormatFloat(r.PPL, 'f', 2, 64)
}

// Table renders the results as a Markdown table: one row per model, one
// perplexity column per cache spec (in --cache order), like Table 3 of
// StreamingLLM.
func (r *CompareResults) Table() string {
	var b strings.Builder
	lo, hi := math.MaxInt, 0
	for _, x := range r.Results {
		lo, hi = min(lo, x.Tokens), max(hi, x.Tokens)
	}
	tokens := strconv.Itoa(hi)
	if lo < hi {
		tokens = fmt.Sprintf("%d–%d", lo, hi) // a model without sinks has no target for the first token
	}
	fmt.Fprintf(&b, "Streaming perplexity on %s (%s scored tokens; each model's sinks prepended, never scored). Lower is better.\n\n", r.Source, tokens)
	b.WriteString("| model | sinks | attention |")
	for _, c := range r.Caches {
		fmt.Fprintf(&b, " %s |", c)
	}
	b.WriteString("\n|---|---:|---|")
	for range r.Caches {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for _, m := range r.Models {
		fmt.Fprintf(&b, "| %s | %d | %s |", m.Name, m.Sinks, m.Attention)
		for _, c := range r.Caches {
			fmt.Fprintf(&b, " %s |", cmpFormatPPL(r.Result(m.Name, c)))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// writeJSON writes results.json (indented).
func (r *CompareResults) writeJSON(w *bufio.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(cmpJSONSafe(r))
}

// cmpJSONSafe returns a copy of r whose non-finite numbers (a diverged
// stream) are replaced by a huge finite value, since JSON has no Inf/NaN.
func cmpJSONSafe(r *CompareResults) *CompareResults {
	c := *r
	c.Results = make([]CompareResult, len(r.Results))
	for i, x := range r.Results {
		x.NLL, x.PPL = cmpFinite(x.NLL), cmpFinite(x.PPL)
		x.Rolling = make([]float64, len(r.Results[i].Rolling))
		for j, v := range r.Results[i].Rolling {
			x.Rolling[j] = cmpFinite(v)
		}
		c.Results[i] = x
	}
	return &c
}

func cmpFinite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return math.MaxFloat64
	}
	return v
}

// writeCSV writes results.csv: one row per (model, cache).
func (r *CompareResults) writeCSV(w *bufio.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"model", "checkpoint", "sinks", "attention", "cache", "tokens", "nll", "ppl", "tok_s", "peak_rss_mb"}); err != nil {
		return err
	}
	byName := make(map[string]CompareModel, len(r.Models))
	for _, m := range r.Models {
		byName[m.Name] = m
	}
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for _, x := range r.Results {
		m := byName[x.Model]
		if err := cw.Write([]string{x.Model, m.Checkpoint, strconv.Itoa(m.Sinks), m.Attention, x.Cache,
			strconv.Itoa(x.Tokens), g(x.NLL), g(x.PPL), g(x.TokS), g(x.PeakRSSMB)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
