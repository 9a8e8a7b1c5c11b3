package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/sinktrain/sinktrain/infer"
	"github.com/sinktrain/sinktrain/serve"
)

// newGenerateCmd builds `sinktrain generate`. runF nil runs infer.Generate
// (--prompt), chatF nil runs serve.Chat (--chat: the server's conversation
// code, so that a chat here and over the API give the same text).
func newGenerateCmd(runF, chatF func(context.Context, *infer.GenerateOptions) error) *cobra.Command {
	if runF == nil {
		runF = infer.Generate
	}
	if chatF == nil {
		chatF = serve.Chat
	}
	o := &infer.GenerateOptions{}
	cmd := &cobra.Command{
		Use:   "generate --model CKPT --cache SPEC (--prompt TEXT | --chat) [--max-new-tokens N] [--temperature T] [--top-k K] [--seed S]",
		Short: "Generate text under a bounded KV cache, streaming tokens as they come",
		Long: `generate continues --prompt (the model's sinks are prepended) and prints each
token as it is produced. With --chat it reads one turn per line from stdin and
answers each, keeping one bounded cache across turns: before each turn the
oldest window tokens are evicted so that the turn and its answer fit, as in
StreamingLLM's multi-round dialogue. Turns go through the model's chat template
(tokenizer_config.json's chat_template, else the plain "USER: …" / "ASSISTANT: …"
template) exactly as 'sinktrain serve' renders them: the same --seed gives the
same replies as a conversation over the API with that seed. --chat needs a K+W
(or dense) cache. --temperature 0 is greedy decoding.`,
		Example: `  sinktrain generate --model runs/sink1 --cache 1+255 --prompt "It was a truth" --max-new-tokens 200
  sinktrain generate --model runs/sink1 --cache 4+508 --chat < turns.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.In = cmd.InOrStdin()
			o.Out = cmd.OutOrStdout()
			if o.Chat {
				return chatF(cmd.Context(), o)
			}
			return runF(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Model, "model", "", "model `DIR`: a run/checkpoint directory or a Hugging Face GPT-NeoX folder")
	f.StringVar(&o.Cache, "cache", "", "cache `SPEC`: K+W, dense or recompute:W")
	f.StringVar(&o.Prompt, "prompt", "", "prompt `TEXT` to continue")
	f.BoolVar(&o.Chat, "chat", false, "read turns from stdin, one per line, with one cache across turns")
	f.IntVar(&o.MaxNewTokens, "max-new-tokens", 128, "generate at most `N` tokens per prompt or turn")
	f.Float64Var(&o.Temperature, "temperature", 0.8, "sampling temperature `T` (0: greedy)")
	f.IntVar(&o.TopK, "top-k", 40, "sample among the `K` most likely tokens (0: all)")
	f.Float64Var(&o.TopP, "top-p", 1, "sample among the most likely tokens whose probability reaches `P` (1: all)")
	f.Uint64Var(&o.Seed, "seed", 1, "random `SEED` for sampling")
	_ = cmd.MarkFlagRequired("model")
	_ = cmd.MarkFlagRequired("cache")
	cmd.MarkFlagsMutuallyExclusive("prompt", "chat")
	cmd.MarkFlagsOneRequired("prompt", "chat")
	return cmd
}
