package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/sinktrain/sinktrain/data"
	"github.com/sinktrain/sinktrain/data/tokenizer"
	"github.com/sinktrain/sinktrain/infer"
	"github.com/sinktrain/sinktrain/internal/progress"
	"github.com/sinktrain/sinktrain/serve"
	"github.com/sinktrain/sinktrain/study"
)

// generateOptions are the flags of `sinktrain generate`.
type generateOptions struct {
	Model  string // run/checkpoint directory or plain Hugging Face model folder (with tokenizer.json)
	Cache  string // cache spec; recompute:W re-encodes W tokens per new token
	Prompt string // the prompt (the model's sinks are prepended)
	// IDs is a file of whitespace-separated prompt token ids, fed verbatim
	// (for a model folder without tokenizer.json, whose output is ids too).
	IDs string
	// Tokenizer is a tokenizer.json to use instead of the model folder's.
	Tokenizer string
	// Chat reads one user turn per line from In and answers each, keeping
	// one bounded cache across turns: serve.Chat, the server's conversation
	// code under the model's chat template.
	Chat         bool
	MaxNewTokens int    // per prompt or turn
	DType        string // weight storage: float32 or bfloat16
	infer.SamplerOptions
	In     io.Reader // chat turns
	Out    io.Writer // generated text, streamed as produced
	Notice io.Writer // chat notices (a turn that no longer fits the window)
}

// newGenerateCmd builds `sinktrain generate`. runF nil runs runGenerate.
func newGenerateCmd(runF func(context.Context, *generateOptions) error) *cobra.Command {
	if runF == nil {
		runF = runGenerate
	}
	o := &generateOptions{}
	cmd := &cobra.Command{
		Use:   "generate --model CKPT --cache SPEC (--prompt TEXT | --ids FILE | --chat) [--tokenizer FILE] [--max-new-tokens N] [--temperature T] [--top-k K] [--seed S]",
		Short: "Generate text under a bounded KV cache, streaming tokens as they come",
		Long: `generate continues --prompt (the model's sinks are prepended) and prints each
token as it is produced. --ids FILE gives the prompt as whitespace-separated
token ids, fed verbatim; a model folder without tokenizer.json (a Hugging Face
folder converted without one) then prints the generated ids, or pass
--tokenizer FILE to encode --prompt and decode with that tokenizer.json.
With --chat it reads one turn per line from stdin and answers each, keeping one
bounded cache across turns: before each turn the oldest window tokens are
evicted so that the turn and its answer fit, as in StreamingLLM's multi-round
dialogue (a notice on stderr says when a turn plus its answer is longer than the
window). Each turn is shown as "> TURN" before its answer (typed turns get the
"> " prompt). Turns go through the model's chat template (tokenizer_config.json's
chat_template, else the plain "USER: …" / "ASSISTANT: …" template) exactly as
'sinktrain serve' renders them: the same --seed gives the same replies as a
conversation over the API with that seed. --chat needs a K+W (or dense) cache.
--temperature 0 is greedy decoding.`,
		Example: `  sinktrain generate --model runs/sink1 --cache 1+255 --prompt "It was a truth" --max-new-tokens 200
  sinktrain generate --model export/llama --cache 4+508 --ids prompt.ids --temperature 0
  sinktrain generate --model runs/sink1 --cache 4+508 --chat < turns.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.In = cmd.InOrStdin()
			o.Out = cmd.OutOrStdout()
			o.Notice = cmd.ErrOrStderr()
			return runF(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Model, "model", "", "model `DIR`: a run/checkpoint directory or a Hugging Face model folder")
	f.StringVar(&o.Cache, "cache", "", "cache `SPEC`: K+W, dense or recompute:W")
	f.StringVar(&o.Prompt, "prompt", "", "prompt `TEXT` to continue")
	f.StringVar(&o.IDs, "ids", "", "`FILE` of whitespace-separated prompt token ids, fed verbatim")
	f.StringVar(&o.Tokenizer, "tokenizer", "", "tokenizer.json `FILE` to use instead of the model folder's")
	f.BoolVar(&o.Chat, "chat", false, "read turns from stdin, one per line, with one cache across turns")
	f.IntVar(&o.MaxNewTokens, "max-new-tokens", 128, "generate at most `N` tokens per prompt or turn")
	f.StringVar(&o.DType, "dtype", "float32", "store the weights as `DTYPE`: float32 or bfloat16 (half the bytes per token)")
	f.Float64Var(&o.Temperature, "temperature", 0.8, "sampling temperature `T` ≥ 0 (0: greedy)")
	f.IntVar(&o.TopK, "top-k", 40, "sample among the `K` most likely tokens (0: all)")
	f.Float64Var(&o.TopP, "top-p", 1, "sample among the most likely tokens whose probability reaches `P` (1: all)")
	f.Uint64Var(&o.Seed, "seed", 1, "random `SEED` for sampling")
	_ = cmd.MarkFlagRequired("model")
	_ = cmd.MarkFlagRequired("cache")
	cmd.MarkFlagsMutuallyExclusive("prompt", "ids", "chat")
	cmd.MarkFlagsOneRequired("prompt", "ids", "chat")
	cmd.MarkFlagsMutuallyExclusive("tokenizer", "chat")
	return cmd
}

// runGenerate streams a continuation of the prompt to o.Out, token by
// token, through infer's Generator; --chat runs serve.Chat.
func runGenerate(ctx context.Context, o *generateOptions) error {
	if o.MaxNewTokens < 1 {
		return usageError{fmt.Errorf("--max-new-tokens %d: expected ≥ 1", o.MaxNewTokens)}
	}
	spec, err := infer.ParseCacheSpec(o.Cache)
	if err != nil {
		return err
	}
	if o.Chat {
		co := serve.ChatOptions{Model: o.Model, Cache: o.Cache, MaxNewTokens: o.MaxNewTokens, DType: o.DType,
			SamplerOptions: o.SamplerOptions, In: o.In, Out: o.Out, Notice: o.Notice, Echo: true}
		if f, ok := o.In.(*os.File); ok && progress.IsTerminal(f) {
			co.Echo, co.Prompt = false, "> "
		}
		return serve.Chat(ctx, co)
	}
	if err := o.SamplerOptions.Validate(); err != nil {
		return err
	}
	prompt := o.Prompt
	if o.IDs == "" {
		if prompt, err = data.DecodeText([]byte(o.Prompt)); err != nil { // refuses binary data, as prepare does
			return usageError{fmt.Errorf("--prompt: %w", err)}
		}
	}
	dtype, err := infer.ParseDType(o.DType)
	if err != nil {
		return err
	}
	m, err := infer.LoadModelAs(o.Model, dtype)
	if err != nil {
		return err
	}
	var tok *tokenizer.Tokenizer
	switch _, statErr := os.Stat(filepath.Join(o.Model, "tokenizer.json")); {
	case o.Tokenizer != "":
		tok, err = infer.LoadTokenizerFile(o.Tokenizer, m)
	case statErr == nil:
		tok, err = infer.LoadTokenizer(o.Model, m)
	case o.IDs == "":
		return fmt.Errorf("--model %s has no tokenizer.json to encode --prompt: pass --tokenizer FILE, or give the prompt as token ids with --ids FILE", o.Model)
	}
	if err != nil {
		return err
	}
	var ids []int32
	if o.IDs != "" {
		f, err := os.Open(o.IDs)
		if err != nil {
			return fmt.Errorf("--ids %s: %w", o.IDs, errors.Unwrap(err))
		}
		ids, err = study.ReadIDs(f, m.Config.VocabSize)
		f.Close()
		if err == nil && len(ids) == 0 {
			err = errors.New("no token ids, expected at least one")
		}
		if err != nil {
			return fmt.Errorf("--ids %s: %w", o.IDs, err)
		}
	} else {
		start, _ := infer.StreamAffixes(tok, m) // the sinks, then the tokenizer's BOS
		ids = append(start, tok.Encode(prompt)...)
	}
	sampler, err := infer.NewSampler(o.SamplerOptions, m.SinkIDs())
	if err != nil {
		return err
	}
	g := infer.NewGenerator(m, spec, sampler)
	if tok != nil {
		if id, ok := tok.TokenID("<|endoftext|>"); ok {
			g.EOS = id
		}
	}
	// Text through the tokenizer's incremental decoder, or ids without one.
	emit, flush := func(id int32) string { return strconv.Itoa(int(id)) + " " }, func() string { return "" }
	if tok != nil {
		text := tok.NewDecodeStream()
		emit, flush = text.Next, text.Flush
	}
	err = g.Turn(ctx, ids, o.MaxNewTokens, func(id int32) error {
		_, err := io.WriteString(o.Out, emit(id))
		return err
	})
	if errors.Is(err, infer.ErrNothingToFeed) {
		return fmt.Errorf("--prompt: empty after tokenization and the model has no sinks, expected at least one token")
	}
	if err != nil {
		return err
	}
	_, err = io.WriteString(o.Out, flush()+"\n")
	return err
}
