package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sinktrain/sinktrain/train"
)

// addTrainFlags registers the flags pretrain and finetune share.
func addTrainFlags(cmd *cobra.Command, o *train.Options) {
	f := cmd.Flags()
	f.StringVar(&o.Config, "config", "", "preset (tiny, small, reference, laptop-study; Llama twins tiny-llama, laptop-study-llama, reference-llama) or JSON config file")
	f.StringVar(&o.Data, "data", "", "prepared dataset dir, .arrow file or HF datasets folder (default: the embedded text, prepared into OUT/data)")
	f.StringVar(&o.Out, "out", "runs/run", "run directory (checkpoints, metrics.jsonl, final model)")
	f.StringArrayVar(&o.Set, "set", nil, "override a config key: --set key=value (repeatable)")
	f.BoolVar(&o.Resume, "resume", false, "continue from the newest checkpoint in --out")
	f.IntVar(&o.Runtime.Workers, "workers", 0, "train `N` graphs in parallel (0: one per core; not stored in the run; --set workers=N too)")
	f.IntVar(&o.Runtime.BLASThreads, "blas-threads", 0, "OpenBLAS threads per matrix product of each worker (0: the cores shared out, GOMAXPROCS / workers)")
}

func newPretrainCmd(runF func(context.Context, *train.Options) error) *cobra.Command {
	o := &train.Options{}
	cmd := &cobra.Command{
		Use:   "pretrain [--config FILE] [--data DIR] [--out DIR] [--set key=value]... [--resume]",
		Short: "Train a GPT-NeoX or Llama model from scratch, with k sink tokens if configured",
		Example: `  sinktrain pretrain --config tiny --out runs/tiny
  sinktrain pretrain --config tiny --set sinks=1 --out runs/tiny-sink1
  sinktrain pretrain --config tiny-llama --set sinks=1 --out runs/tiny-llama-sink1
  sinktrain pretrain --config tiny --set arch=llama --set num_kv_heads=1 --set tie_embeddings=true --out runs/tiny-tied
  sinktrain pretrain --config reference --data corpus/prepared --workers 2 --out runs/ref
  sinktrain pretrain --out runs/ref --resume`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			o.Log = c.ErrOrStderr()
			if runF == nil {
				err := train.Pretrain(c.Context(), *o)
				resumeHint(c, err)
				return err
			}
			return runF(c.Context(), o)
		},
	}
	addTrainFlags(cmd, o)
	return cmd
}

// resumeHint tells the user how to continue a run that a signal stopped
// (the trainer checkpointed it and returned nil).
func resumeHint(c *cobra.Command, err error) {
	if err == nil && c.Context().Err() != nil {
		fmt.Fprintln(c.ErrOrStderr(), "resume with the same command plus --resume")
	}
}
