package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/sinktrain/sinktrain/infer"
	"github.com/sinktrain/sinktrain/serve"
)

// generateOptions are the flags of `sinktrain generate`.
type generateOptions struct {
	Model  string // run/checkpoint directory or plain Hugging Face model folder (with tokenizer.json)
	Cache  string // cache spec; recompute:W re-encodes W tokens per new token
	Prompt string // the prompt (the model's sinks are prepended)
	// Chat reads one user turn per line from In and answers each, keeping
	// one bounded cache across turns: serve.Chat, the server's conversation
	// code under the model's chat template.
	Chat         bool
	MaxNewTokens int    // per prompt or turn
	DType        string // weight storage: float32 or bfloat16
	infer.SamplerOptions
	In  io.Reader // chat turns
	Out io.Writer // generated text, streamed as produced
}

// newGenerateCmd builds `sinktrain generate`. runF nil runs runGenerate.
func newGenerateCmd(runF func(context.Context, *generateOptions) error) *cobra.Command {
	if runF == nil {
		runF = runGenerate
	}
	o := &generateOptions{}
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
			return runF(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Model, "model", "", "model `DIR`: a run/checkpoint directory or a Hugging Face model folder")
	f.StringVar(&o.Cache, "cache", "", "cache `SPEC`: K+W, dense or recompute:W")
	f.StringVar(&o.Prompt, "prompt", "", "prompt `TEXT` to continue")
	f.BoolVar(&o.Chat, "chat", false, "read turns from stdin, one per line, with one cache across turns")
	f.IntVar(&o.MaxNewTokens, "max-new-tokens", 128, "generate at most `N` tokens per prompt or turn")
	f.StringVar(&o.DType, "dtype", "float32", "store the weights as `DTYPE`: float32 or bfloat16 (half the bytes per token)")
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

// runGenerate streams a continuation of the prompt to o.Out, token by
// token, through infer's Generator; --chat runs serve.Chat.
func runGenerate(ctx context.Context, o *generateOptions) error {
	if o.MaxNewTokens < 1 {
		return fmt.Errorf("--max-new-tokens %d: expected ≥ 1", o.MaxNewTokens)
	}
	spec, err := infer.ParseCacheSpec(o.Cache)
	if err != nil {
		return err
	}
	if o.Chat {
		return serve.Chat(ctx, serve.ChatOptions{Model: o.Model, Cache: o.Cache, MaxNewTokens: o.MaxNewTokens, DType: o.DType,
			SamplerOptions: o.SamplerOptions, In: o.In, Out: o.Out})
	}
	if err := o.SamplerOptions.Validate(); err != nil {
		return err
	}
	dtype, err := infer.ParseDType(o.DType)
	if err != nil {
		return err
	}
	m, err := infer.LoadModelAs(o.Model, dtype)
	if err != nil {
		return err
	}
	tok, err := infer.LoadTokenizer(o.Model, m)
	if err != nil {
		return err
	}
	sampler, err := infer.NewSampler(o.SamplerOptions, m.SinkIDs())
	if err != nil {
		return err
	}
	g := infer.NewGenerator(m, spec, sampler)
	if id, ok := tok.TokenID("<|endoftext|>"); ok {
		g.EOS = id
	}
	start, _ := infer.StreamAffixes(tok, m) // the sinks, then the tokenizer's BOS
	text := tok.NewDecodeStream()
	turn := func(ids []int32) error {
		err := g.Turn(ctx, ids, o.MaxNewTokens, func(id int32) error {
			_, err := io.WriteString(o.Out, text.Next(id))
			return err
		})
		if errors.Is(err, infer.ErrNothingToFeed) {
			return fmt.Errorf("--prompt: empty after tokenization and the model has no sinks, expected at least one token")
		}
		if err != nil {
			return err
		}
		_, err = io.WriteString(o.Out, text.Flush()+"\n")
		return err
	}
	return turn(append(start, tok.Encode(o.Prompt)...))
}
