package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sinktrain/sinktrain/train"
)

// trainHelp is the part of pretrain's and finetune's --help about the
// config keys, the run directory and --resume.
const trainHelp = `Config keys (--set key=value; a --config preset or JSON file sets several;
unknown keys and wrong types are errors):
  model:     arch (gpt_neox | llama) hidden_size num_layers num_heads
             num_kv_heads (llama; 0: num_heads) intermediate_size (0: 4·hidden_size)
             rotary_pct rotary_base parallel_residual layer_norm_eps
             max_position_embeddings tie_embeddings (llama) sinks (k sink tokens
             prepended to every sample) attention (softmax | softmax1 | sink_logit)
  data:      vocab_size (of the tokenizer trained for the embedded text; with
             --data the dataset's tokenizer decides, and that is stored)
             block_size batch grad_accum seed
  optimizer: lr min_lr warmup decay (cosine | linear | constant) weight_decay
             betas eps grad_clip (0: off)
  length:    max_steps max_tokens (> 0 wins: steps = max_tokens / tokens per step)
  records:   eval_interval eval_tokens checkpoint_interval (0: only at the end)
             keep_checkpoints (the newest N are kept; 0 keeps every checkpoint)
             log_interval
Runtime settings, never stored: workers (--workers; more than the cores only
slows the run down, the result is the same) and blas_threads (--blas-threads).

--out must be new, empty, or hold only data/ (the embedded text prepared by an
earlier attempt); a run that fails before its first checkpoint removes what it
wrote. A run records its dataset (path, manifest and tokenizer sha256) and its
whole config in every checkpoint: --resume trains on that dataset again (a
--data given must be it) and refuses a --set or --config that changes any key
but max_steps, max_tokens, eval_interval, eval_tokens, checkpoint_interval,
keep_checkpoints and log_interval (finetune from the run to change others).`

// addTrainFlags registers the flags pretrain and finetune share.
func addTrainFlags(cmd *cobra.Command, o *train.Options) {
	f := cmd.Flags()
	f.StringVar(&o.Config, "config", "", "preset (tiny, small, reference, laptop-study; Llama twins tiny-llama, laptop-study-llama, reference-llama) or JSON config file")
	f.StringVar(&o.Data, "data", "", "prepared dataset dir, .arrow file or HF datasets folder (default: the embedded text, prepared into OUT/data)")
	f.StringVar(&o.Out, "out", "runs/run", "run directory (checkpoints, metrics.jsonl, final model)")
	f.StringArrayVar(&o.Set, "set", nil, "override a config key: --set key=value (repeatable)")
	f.BoolVar(&o.Resume, "resume", false, "continue from the newest checkpoint in --out")
	f.IntVar(&o.Runtime.Workers, "workers", 0, "train `N` graphs in parallel (0: one per core; not stored in the run; --set workers=N too)")
	f.IntVar(&o.Runtime.BLASThreads, "blas-threads", 0, "threads of each worker's matrix products (0: GOMAXPROCS / workers); one worker: OpenBLAS's threads, several: goroutines splitting each worker's products, OpenBLAS one thread per call")
}

func newPretrainCmd(runF func(context.Context, *train.Options) error) *cobra.Command {
	o := &train.Options{}
	cmd := &cobra.Command{
		Use:   "pretrain [--config FILE] [--data DIR] [--out DIR] [--set key=value]... [--resume]",
		Short: "Train a GPT-NeoX or Llama model from scratch, with k sink tokens if configured",
		Long: `pretrain trains a GPT-NeoX (Pythia) or Llama model on CPU from the defaults, a
--config preset and --set overrides, on --data or the embedded text (prepared
into OUT/data), writing checkpoint-NNNNNN/ folders, metrics.jsonl and the final
model into --out.

` + trainHelp,
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
