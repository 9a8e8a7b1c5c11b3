package study

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sinktrain/sinktrain/infer"
	"github.com/sinktrain/sinktrain/internal/fsutil"
	"github.com/sinktrain/sinktrain/internal/input"
	"github.com/sinktrain/sinktrain/sinktoken"
)

// InspectOptions configures InspectAttention (sinktrain inspect attention).
type InspectOptions struct {
	Model   string  // run/checkpoint directory or plain Hugging Face model folder
	Text    string  // a text file: tokenized, the model's sinks prepended
	IDs     string  // or a file of whitespace-separated token ids, fed verbatim
	Tokens  int     // analyse the first N tokens of the stream (default 256)
	Out     string  // output directory
	Epsilon float64 // ε of Sink_k^ε (default 0.3)
	Stdout  io.Writer
}

// Inspect defaults.
const (
	DefaultInspectTokens  = 256
	DefaultInspectEpsilon = 0.3
)

// Inspect output files, written into InspectOptions.Out.
const (
	InspectJSON  = "attention.json"
	InspectAlpha = "alpha0.png"
)

// inspectOutput is what InspectAttention writes into its output directory.
var inspectOutput = cmpOutput{what: "inspect output", marker: InspectJSON, owned: func(name string) bool {
	if name == InspectJSON || name == InspectAlpha {
		return true
	}
	n, ok := strings.CutPrefix(name, "attention_L")
	n, ok2 := strings.CutSuffix(n, ".png")
	_, err := strconv.Atoi(n)
	return ok && ok2 && err == nil
}}

// InspectHeatmapFile returns the name of layer l's attention map PNG.
func InspectHeatmapFile(l int) string { return "attention_L" + strconv.Itoa(l) + ".png" }

// AttentionReport is what inspect attention writes as attention.json.
type AttentionReport struct {
	Model     string  `json:"model"`
	Attention string  `json:"attention"`
	SinkIDs   []int   `json:"sink_ids"`
	Source    string  `json:"source"`
	IDs       []int32 `json:"ids"` // the analysed tokens (sinks included)
	SinkStats
}

// InspectAttention runs dense attention over the first o.Tokens tokens of
// the stream, computes α_k (k = 0..7) per layer and head and Sink_k^ε, and
// writes attention.json, attention_L<l>.png (head-averaged attention over
// the first 64 tokens of each layer) and alpha0.png (α_0 per layer and
// head) into o.Out. It prints a summary to o.Stdout.
func InspectAttention(ctx context.Context, o *InspectOptions) error {
	if o.Tokens == 0 {
		o.Tokens = DefaultInspectTokens
	}
	if o.Epsilon == 0 {
		o.Epsilon = DefaultInspectEpsilon
	}
	if o.Model == "" {
		return input.Errorf("Model", "model", "", "none given")
	}
	if (o.Text == "") == (o.IDs == "") {
		return fmt.Errorf("expected exactly one token source (a text file or an ids file)")
	}
	if o.Tokens < 2 {
		return input.Usagef("Tokens", "tokens", strconv.Itoa(o.Tokens), "expected ≥ 2")
	}
	if !(o.Epsilon > 0 && o.Epsilon < 1) {
		return input.Usagef("Epsilon", "epsilon", fmt.Sprint(o.Epsilon), "expected a value in (0, 1)")
	}
	m, err := infer.LoadModel(o.Model)
	if err != nil {
		return err
	}
	ids, err := inspLoadTokens(o, m)
	if err != nil {
		return err
	}
	src := o.Text + o.IDs
	if len(ids) > o.Tokens {
		ids = ids[:o.Tokens]
	}
	if len(ids) < 2 {
		return fmt.Errorf("%s has %d tokens, expected at least 2", src, len(ids))
	}
	stage, err := cmpNewStage(o.Out, inspectOutput)
	if err != nil {
		return err
	}
	defer stage.abort()

	stats, err := AttentionStats(ctx, m, ids, o.Epsilon)
	if err != nil {
		return err
	}
	att := m.Config.Attention
	if att == "" {
		att = sinktoken.Softmax
	}
	rep := &AttentionReport{Model: o.Model, Attention: string(att), SinkIDs: m.Config.SinkIDs, Source: src, IDs: ids, SinkStats: *stats}
	if rep.SinkIDs == nil {
		rep.SinkIDs = []int{}
	}
	if err := stage.finish(func() error { return inspWriteAll(stage, rep) }, o.Stdout, rep.Summary()); err != nil {
		return err
	}
	return nil
}

// AttentionStats runs ids through m with a dense cache and returns the sink
// statistics of its attention rows.
func AttentionStats(ctx context.Context, m *infer.Model, ids []int32, eps float64) (*SinkStats, error) {
	c := m.Config
	acc := newSinkAccum(c.NumLayers, c.NumHeads, len(ids))
	var addErr error
	s := m.NewSession(infer.CacheSpec{Kind: infer.Dense}, len(ids))
	s.OnAttention = func(layer, head, t int, probs []float32) {
		if err := acc.add(layer, head, t, probs); err != nil && addErr == nil {
			addErr = err
		}
	}
	for done := 0; done < len(ids); done += infer.DefaultChunk {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if _, err := s.Prefill(ids[done:min(done+infer.DefaultChunk, len(ids))]); err != nil {
			return nil, err
		}
	}
	if addErr != nil {
		return nil, addErr
	}
	return acc.stats(eps)
}

// Summary returns the printed summary: Sink_k^ε for k = 0..7 and α_0..α_3
// per layer (mean over heads).
func (r *AttentionReport) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s, %s): dense attention over %d tokens of %s\n", r.Model, r.Attention, cmpSinksLabel(len(r.SinkIDs)), r.Tokens, r.Source)
	fmt.Fprintf(&b, "row sums in [%.6f, %.6f]\n", r.RowSumMin, r.RowSumMax)
	fmt.Fprintf(&b, "Sink_k^%g (fraction of %d layer×head pairs with α_k > %g):\n ", r.Epsilon, r.Layers*r.Heads, r.Epsilon)
	for k, v := range r.SinkRate {
		fmt.Fprintf(&b, " k=%d %.3f", k, v)
	}
	b.WriteString("\nα_k by layer (mean over heads):\n")
	for l, a := range r.AlphaLayer {
		fmt.Fprintf(&b, "  layer %d:", l)
		for k := 0; k < 4 && k < len(a); k++ {
			fmt.Fprintf(&b, " α_%d=%.4f", k, a[k])
		}
		b.WriteString("\n")
	}
	return b.String()
}

// inspWriteAll writes attention.json and the PNGs into the stage.
func inspWriteAll(stage *cmpStage, r *AttentionReport) error {
	err := fsutil.WriteFileAtomic(stage.path(InspectJSON), func(w *bufio.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	})
	if err != nil {
		return err
	}
	first := "the first stream token"
	if len(r.SinkIDs) > 0 {
		first = "the model's first sink"
	}
	caption := [2]string{
		"Row i is query position i, column j key position j of the stream; future keys (j > i) are masked.",
		fmt.Sprintf("(0,0), top left: position 0 (token id %d, %s) attending to itself; column 0: attention on it.", r.IDs[0], first),
	}
	for l, hm := range r.Heatmap {
		title := fmt.Sprintf("Layer %d: attention averaged over %d heads (first %d tokens)", l, r.Heads, len(hm))
		if err := plotHeatmap(stage.path(InspectHeatmapFile(l)), title, hm, caption); err != nil {
			return err
		}
	}
	layers := make([]string, r.Layers)
	groups := make([][]float64, r.Layers)
	heads := make([]string, r.Heads)
	for h := range heads {
		heads[h] = "head " + strconv.Itoa(h)
	}
	for l := range r.Layers {
		layers[l] = "layer " + strconv.Itoa(l)
		groups[l] = make([]float64, r.Heads)
		for h := range r.Heads {
			groups[l][h] = r.Alpha[l][h][0]
		}
	}
	title := fmt.Sprintf("α_0: mean attention on position 0 (%d tokens, %s)", r.Tokens, r.Attention)
	return plotBars(stage.path(InspectAlpha), title, "α_0", layers, heads, groups, r.Epsilon, fmt.Sprintf("ε = %g (Sink_0^ε)", r.Epsilon))
}
