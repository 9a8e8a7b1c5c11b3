package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/sinktrain/sinktrain/infer"
)

// newGenerateCmd builds `sinktrain generate`. runF nil runs infer.Generate.
func newGenerateCmd(runF func(context.Context, *infer.GenerateOptions) error) *cobra.Command {
	if runF == nil {
		runF = infer.Generate
	}
	o := &infer.GenerateOptions{}
	cmd := &cobra.Command{
		Use:   "generate --model CKPT --cache SPEC (--prompt TEXT | --chat) [--max-new-tokens N] [--temperature T] [--top-k K] [--seed S]",
		Short: "Generate text under a bounded KV cache, streaming tokens as they come",
		Long: `generate continues --prompt (the model's sinks are prepended) and prints each
token as it is produced. With --chat it reads one turn per line from stdin and
answers each, keeping one bounded cache across turns: before each turn the
oldest window tokens are evicted so that the turn and its answer fit, as in
StreamingLLM's multi-round dialogue. --temperature 0 is greedy decoding.`,
		Example: `  sinktrain generate --model runs/sink1 --cache 1+255 --prompt "It was a truth" --max-new-tokens 200
  sinktrain generate --model runs/sink1 --cache 4+508 --chat < turns.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.In = cmd.InOrStdin()
			o.Out = cmd.OutOrStdout()
			return runF(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Model, "model", "", "model `DIR`: a run/checkpoint directory or a Hugging Face model folder")
	f.StringVar(&o.Cache, "cache", "", "cache `SPEC`: K+W, dense or recompute:W")
	f.StringVar(&o.Prompt, "prompt", "", "prompt `TEXT` to continue")
	f.BoolVar(&o.Chat, "chat", false, "read turns from stdin, one per line, with one cache across turns")
	f.IntVar(&o.MaxNewTokens, "max-new-tokens", 128, "generate at most `N` tokens per prompt or turn")
	f.Float64Var(&o.Temperature, "temperature", 0.8, "sampling temperature `T` (0: greedy)")
	f.IntVar(&o.TopK, "top-k", 40, "sample among the `K` most likely tokens (0: all)")
	f.Uint64Var(&o.Seed, "seed", 1, "random `SEED` for sampling")
	_ = cmd.MarkFlagRequired("model")
	_ = cmd.MarkFlagRequired("cache")
	cmd.MarkFlagsMutuallyExclusive("prompt", "chat")
	cmd.MarkFlagsOneRequired("prompt", "chat")
	return cmd
}
