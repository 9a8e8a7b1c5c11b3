package main

import (
	"context"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sinktrain/sinktrain/infer"
	"github.com/sinktrain/sinktrain/internal/input"
	"github.com/sinktrain/sinktrain/study"
)

// newEvalCmd builds `sinktrain eval` with its `stream` child. runF nil runs
// study.EvalStream.
func newEvalCmd(runF func(context.Context, *study.EvalOptions) error) *cobra.Command {
	return newParentCmd("eval", "Evaluate models", newEvalStreamCmd(runF))
}

// addEngineFlags adds the streaming engine's flags of eval stream and
// compare.
func addEngineFlags(f *pflag.FlagSet, e *study.Engine) {
	f.IntVar(&e.Chunk, "chunk", infer.DefaultScoreChunk, "score `N` tokens per chunked forward (the numbers do not depend on it)")
	f.BoolVar(&e.ExactSteps, "exact-steps", false, "feed one token at a time (the reference the chunked path equals; slow)")
	f.StringVar(&e.DType, "dtype", "float32", "store the weights as `DTYPE`: float32 or bfloat16 (half the bytes per token)")
}

// checkChunk refuses a chunk size below 1 (study reads 0 as its default).
func checkChunk(e *study.Engine) error {
	if e.Chunk < 1 {
		return input.Usagef("Chunk", "chunk size", strconv.Itoa(e.Chunk), "expected ≥ 1 token")
	}
	return nil
}

func newEvalStreamCmd(runF func(context.Context, *study.EvalOptions) error) *cobra.Command {
	if runF == nil {
		runF = study.EvalStream
	}
	o := &study.EvalOptions{}
	cmd := &cobra.Command{
		Use:   "stream --model CKPT (--text FILE | --ids FILE | --data DIR) --cache SPEC... [--max-tokens N] [--nll-out FILE.csv] [--json]",
		Short: "Streaming perplexity under KV-cache policies (dense, K+W, recompute:W)",
		Long: `stream scores every next token of a token stream under a KV-cache policy, once
per --cache, with exactly the numbers of feeding one token at a time as
StreamingLLM's streaming evaluation does; it runs --chunk tokens layer by
layer as matrix products (--exact-steps feeds one token at a time):
  dense         every key is kept
  K+W           the first K stream tokens plus the last W (current one included),
                positions re-assigned inside the cache; 0+W is window attention
  recompute:W   every token re-encodes a W-token window from scratch; for a model
                with k sinks: its k sinks + the last W-k tokens (the keys of k+(W-k))
--text and --data are tokenized with the model's tokenizer.json and the model's
sinks are prepended; --ids (whitespace-separated ids) is fed verbatim. Targets
that are sink ids are never scored. --data tokenized with another tokenizer
than the model's (its manifest's tokenizer differs from the model folder's
tokenizer.json) is refused unless --allow-different-tokenizers. --nll-out writes index,token_id,nll (with
several caches one file per spec: nll.csv -> nll.4+252.csv, nll.recompute-256.csv).
The table (or --json) reports tokens per second and the peak RSS.`,
		Example: `  sinktrain eval stream --model runs/sink1 --text persuasion.txt --cache 1+63 --cache 0+64 --max-tokens 2000
  sinktrain eval stream --model pythia-160m --ids ids.txt --cache 4+1020 --json --nll-out nll.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkChunk(&o.Engine); err != nil {
				return err
			}
			o.Out = cmd.OutOrStdout()
			o.Progress = cmd.ErrOrStderr()
			return runF(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Model, "model", "", "model `DIR`: a run/checkpoint directory or a Hugging Face model folder")
	f.StringVar(&o.Text, "text", "", "text `FILE` to stream (the model's sinks are prepended)")
	f.StringVar(&o.IDs, "ids", "", "`FILE` of whitespace-separated token ids, fed verbatim")
	f.StringVar(&o.Data, "data", "", "prepared dataset `DIR` or .arrow file (val split; sinks prepended)")
	f.StringArrayVar(&o.Caches, "cache", nil, "cache `SPEC`: dense, K+W or recompute:W (repeatable)")
	f.IntVar(&o.MaxTokens, "max-tokens", 0, "use the first `N` tokens of the source (0: all)")
	f.StringVar(&o.NLLOut, "nll-out", "", "write per-token NLLs to this CSV `FILE`")
	f.BoolVar(&o.JSON, "json", false, "print one JSON object per cache spec")
	f.BoolVar(&o.AllowDifferentTokenizers, "allow-different-tokenizers", false, "stream --data tokenized with another tokenizer than the model's")
	addEngineFlags(f, &o.Engine)
	_ = cmd.MarkFlagRequired("model")
	_ = cmd.MarkFlagRequired("cache")
	cmd.MarkFlagsMutuallyExclusive("text", "ids", "data")
	cmd.MarkFlagsOneRequired("text", "ids", "data")
	return cmd
}
