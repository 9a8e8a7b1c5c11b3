package main

import (
	"context"
	"fmt"

	"github.com/sinktrain/sinktrain/study"
	"github.com/spf13/cobra"
)

// newCompareCmd builds `sinktrain compare` and its `report` child. runF nil
// runs study.Compare;
// runReport nil runs study.RenderResults.
func newCompareCmd(runF func(context.Context, *study.CompareOptions) error, runReport func(*study.ReportOptions) error) *cobra.Command {
	if runF == nil {
		runF = study.Compare
	}
	o := &study.CompareOptions{}
	var models []string
	cmd := &cobra.Command{
		Use:   "compare --model NAME=CKPT... (--text FILE | --ids FILE | --data DIR) --cache SPEC... --out DIR",
		Short: "Stream several models under several KV-cache policies and tabulate perplexities",
		Long: `compare evaluates every --model under every --cache spec (one streaming pass
per model and spec, exactly as 'eval stream' does) and writes into --out:
results.json, results.csv, table.md (rows = models, columns = cache specs, like
StreamingLLM's Table 3) and ppl_vs_position.png (rolling perplexity). The table
is printed. Models must share one tokenizer unless --allow-different-tokenizers.`,
		Example: `  sinktrain compare --model vanilla=runs/vanilla --model sink1=runs/sinks1 \
    --text persuasion.txt --cache 0+64 --cache 1+63 --cache dense --cache recompute:64 --out runs/compare`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Models = o.Models[:0]
			for _, s := range models {
				m, err := study.ParseNamedModel(s)
				if err != nil {
					return usageError{err}
				}
				o.Models = append(o.Models, m)
			}
			if err := checkChunk(&o.Engine); err != nil {
				return err
			}
			o.Progress = cmd.ErrOrStderr()
			o.Stdout = cmd.OutOrStdout()
			return runF(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&models, "model", nil, "NAME=CKPT: a model to compare (repeatable; NAME labels its table row)")
	f.StringVar(&o.Text, "text", "", "text `FILE` to stream (each model's sinks are prepended)")
	f.StringVar(&o.IDs, "ids", "", "`FILE` of whitespace-separated token ids, fed verbatim (no sinks prepended)")
	f.StringVar(&o.Data, "data", "", "prepared dataset `DIR` (or .arrow file) to stream instead of --text")
	f.StringArrayVar(&o.Caches, "cache", nil, "cache `SPEC`: K+W, dense or recompute:W (repeatable; the table's columns)")
	f.StringVar(&o.Out, "out", "", "output `DIR` (required)")
	f.BoolVar(&o.AllowDifferentTokenizers, "allow-different-tokenizers", false, "compare models whose tokenizer.json differ, or stream --data tokenized with another tokenizer")
	f.IntVar(&o.MaxTokens, "max-tokens", 0, "stream at most `N` tokens (0: all)")
	f.IntVar(&o.Jobs, "jobs", 0, "run `N` streaming passes at once (0: one per core; results do not depend on it)")
	addEngineFlags(f, &o.Engine)
	for _, req := range []string{"model", "cache", "out"} {
		_ = cmd.MarkFlagRequired(req)
	}
	cmd.MarkFlagsMutuallyExclusive("text", "ids", "data")
	cmd.MarkFlagsOneRequired("text", "ids", "data")
	cmd.AddCommand(newCompareReportCmd(runReport), newCompareBudgetsCmd(nil), newCompareCurvesCmd(nil))
	return cmd
}

// newCompareReportCmd builds `sinktrain compare report`, which renders the
// study write-up from a compare directory and inspect directories.
func newCompareReportCmd(runF func(*study.ReportOptions) error) *cobra.Command {
	if runF == nil {
		runF = study.RenderResults
	}
	o := &study.ReportOptions{}
	var inspect []string
	cmd := &cobra.Command{
		Use:   "report --compare DIR [--inspect NAME=DIR]... --out FILE.md",
		Short: "Render the study write-up (docs/results.md) from compare and inspect outputs",
		Long: `report reads results.json of a compare directory and attention.json of each
model's inspect directory and writes a Markdown report: the perplexity table,
and per model its dense perplexity, each cache's perplexity, Sink_0^ε, α_0 by
layer and whether evicting the first tokens hurts it (and by how much). The
plots are copied next to the report (--assets, default FILE without .md).`,
		Example: `  sinktrain compare report --compare runs/study/compare --inspect sinks1=runs/study/inspect/sinks1 \
    --out docs/results.md --command "scripts/sink-study.sh 64000000"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Inspect = o.Inspect[:0]
			for _, s := range inspect {
				m, err := study.ParseNamedModel(s)
				if err != nil {
					return usageError{fmt.Errorf("--inspect %q: expected NAME=DIR (e.g. sinks1=runs/inspect/sinks1)", s)}
				}
				o.Inspect = append(o.Inspect, m)
			}
			return runF(o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Compare, "compare", "", "compare output `DIR` (results.json)")
	f.StringArrayVar(&inspect, "inspect", nil, "NAME=DIR: inspect attention output of model NAME (repeatable)")
	f.StringVar(&o.Out, "out", "", "Markdown `FILE` to write")
	f.StringVar(&o.Assets, "assets", "", "`DIR` the plots are copied into (default: --out without its extension)")
	f.StringVar(&o.Command, "command", "", "the command that produced the numbers, quoted in the report")
	f.StringVar(&o.Notes, "notes", "", "text put under the title (budget, machine, date)")
	for _, req := range []string{"compare", "out"} {
		_ = cmd.MarkFlagRequired(req)
	}
	return cmd
}
