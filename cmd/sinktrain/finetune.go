package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/sinktrain/sinktrain/train"
)

func newFinetuneCmd(runF func(context.Context, *train.FinetuneOptions) error) *cobra.Command {
	o := &train.FinetuneOptions{}
	cmd := &cobra.Command{
		Use:   "finetune --from CKPT [--add-sinks K] [--config FILE] [--data DIR] [--out DIR] [--set key=value]... [--resume]",
		Short: "Continue training a checkpoint or Hugging Face GPT-NeoX or Llama folder, optionally adding sink tokens",
		Example: `  sinktrain finetune --from runs/tiny --add-sinks 1 --set max_steps=200 --out runs/tiny-ft-sink1
  sinktrain finetune --from pythia-70m --add-sinks 1 --data corpus/prepared --out runs/pythia-sink`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			o.Log = c.ErrOrStderr()
			if runF == nil {
				err := train.Finetune(c.Context(), *o)
				resumeHint(c, err)
				return err
			}
			return runF(c.Context(), o)
		},
	}
	addTrainFlags(cmd, &o.Options)
	cmd.Flags().StringVar(&o.From, "from", "", "checkpoint, run directory or Hugging Face GPT-NeoX or Llama folder to start from")
	cmd.Flags().IntVar(&o.AddSinks, "add-sinks", 0, "add K sink tokens (rows initialised to the mean embedding)")
	_ = cmd.MarkFlagRequired("from")
	return cmd
}
