package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/sinktrain/sinktrain/study"
)

// newInspectCmd builds the `sinktrain inspect` parent command.
func newInspectCmd(runAttention func(context.Context, *study.InspectOptions) error) *cobra.Command {
	return newParentCmd("inspect", "Look inside a model (attention sinks)", newInspectAttentionCmd(runAttention))
}

// newInspectAttentionCmd builds `sinktrain inspect attention`. runF nil runs
// study.InspectAttention.
func newInspectAttentionCmd(runF func(context.Context, *study.InspectOptions) error) *cobra.Command {
	if runF == nil {
		runF = study.InspectAttention
	}
	o := &study.InspectOptions{}
	cmd := &cobra.Command{
		Use:   "attention --model CKPT (--text FILE | --ids FILE) --out DIR",
		Short: "Measure attention sinks: α_k per layer and head, Sink_k^ε, attention maps",
		Long: `attention runs dense attention over the first --tokens tokens and reports, per
layer and head, α_k = mean over queries i ≥ k of A[i,k] for k = 0..7 and
Sink_k^ε = fraction of (layer, head) pairs with α_k > ε (Gu et al., ICLR 2025).
It writes attention.json, attention_L<l>.png (each layer's head-averaged
attention over the first 64 tokens) and alpha0.png into --out.`,
		Example: `  sinktrain inspect attention --model runs/sinks1 --text persuasion.txt --out runs/inspect/sinks1`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Stdout = cmd.OutOrStdout()
			return runF(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Model, "model", "", "model `DIR` (run, checkpoint or Hugging Face model folder)")
	f.StringVar(&o.Text, "text", "", "text `FILE` (the model's sinks are prepended)")
	f.StringVar(&o.IDs, "ids", "", "`FILE` of whitespace-separated token ids, fed verbatim")
	f.IntVar(&o.Tokens, "tokens", study.DefaultInspectTokens, "analyse the first `N` tokens")
	f.Float64Var(&o.Epsilon, "epsilon", study.DefaultInspectEpsilon, "ε of Sink_k^ε")
	f.StringVar(&o.Out, "out", "", "output `DIR` (required)")
	for _, req := range []string{"model", "out"} {
		_ = cmd.MarkFlagRequired(req)
	}
	cmd.MarkFlagsMutuallyExclusive("text", "ids")
	cmd.MarkFlagsOneRequired("text", "ids")
	return cmd
}
