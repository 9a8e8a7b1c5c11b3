package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sinktrain/sinktrain/study"
)

// newCompareCurvesCmd builds `sinktrain compare curves`: the loss curves of
// several runs in one plot.
func newCompareCurvesCmd(runF func(*study.CurvesOptions) error) *cobra.Command {
	if runF == nil {
		runF = study.PlotCurves
	}
	o := &study.CurvesOptions{}
	var runs []string
	cmd := &cobra.Command{
		Use:   "curves --run NAME=DIR... --out FILE.png",
		Short: "Overlay the training and validation loss of several runs",
		Long: `curves reads each run directory's metrics.jsonl (written by sinktrain's
trainer and by the GPU recipe scripts/scale/pretrain.py alike) and plots the
training loss (lines) and validation loss (markers) against training tokens.`,
		Example: `  sinktrain compare curves --run cpu=runs/vanilla --run gpu=runs/gpu-vanilla --out curves.png`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Runs = o.Runs[:0]
			for _, s := range runs {
				m, err := study.ParseNamedModel(s)
				if err != nil {
					return usageError{fmt.Errorf("--run %q: expected NAME=DIR (e.g. cpu=runs/vanilla)", s)}
				}
				o.Runs = append(o.Runs, m)
			}
			return runF(o)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&runs, "run", nil, "NAME=DIR: a run directory with metrics.jsonl (repeatable)")
	f.StringVar(&o.Out, "out", "", "the `FILE.png` to write (required)")
	for _, req := range []string{"run", "out"} {
		_ = cmd.MarkFlagRequired(req)
	}
	return cmd
}
