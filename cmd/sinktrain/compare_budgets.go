package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sinktrain/sinktrain/study"
)

// newCompareBudgetsCmd builds `sinktrain compare budgets`: the eviction cost
// of each model across the training budgets of several compare runs.
func newCompareBudgetsCmd(runF func(*study.BudgetsOptions) (string, error)) *cobra.Command {
	if runF == nil {
		runF = study.BudgetsReport
	}
	o := &study.BudgetsOptions{}
	var results []string
	cmd := &cobra.Command{
		Use:   "budgets --results TOKENS=results.json... --window W... --out DIR",
		Short: "Tabulate and plot what evicting the first tokens costs, across training budgets",
		Long: `budgets reads the results.json of compare runs made at several training
budgets (tokens per model) and, for every model and window W, the eviction
cost ppl(0+W) / ppl(K+(W-K)) - 1, K being the model's sinks (4 for a model
without sinks). It writes eviction.md (printed too) and eviction.png (cost
against budget, one line per model and window) into --out. Each run must hold
the 0+W and K+(W-K) columns.`,
		Example: `  sinktrain compare budgets --results 16M=runs/s16/compare/results.json \
    --results 64M=runs/s64/compare/results.json --window 64 --window 32 --out runs/budgets`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Budgets = o.Budgets[:0]
			for _, r := range results {
				b, err := study.ParseBudgetResults(r)
				if err != nil {
					return usageError{err}
				}
				o.Budgets = append(o.Budgets, b)
			}
			md, err := runF(o)
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), md)
			return err
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&results, "results", nil, "TOKENS=FILE: a compare results.json and the training tokens of its models (repeatable)")
	f.IntSliceVar(&o.Windows, "window", []int{64}, "cache size `W` of the eviction cost (repeatable)")
	f.StringVar(&o.Out, "out", "", "output `DIR` (required)")
	for _, req := range []string{"results", "out"} {
		_ = cmd.MarkFlagRequired(req)
	}
	return cmd
}
