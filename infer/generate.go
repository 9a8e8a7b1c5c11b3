package infer

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
)

// GenerateOptions configures Generate (sinktrain generate).
type GenerateOptions struct {
	Model  string // run/checkpoint directory or plain HF GPT-NeoX folder (with tokenizer.json)
	Cache  string // cache spec (ParseCacheSpec); recompute:W re-encodes W tokens per new token
	Prompt string // the prompt (the model's sinks are prepended)
	// Chat reads one user turn per line from In and answers each, keeping
	// one bounded cache across turns: that is serve.Chat, the server's
	// conversation code (Generate refuses it).
	Chat         bool
	MaxNewTokens int     // per prompt or turn
	Temperature  float64 // ≤ 0: greedy
	TopK         int     // sample among the K most likely tokens; 0: all
	TopP         float64 // nucleus sampling; 0 or ≥ 1: all
	Seed         uint64
	In           io.Reader // chat turns (serve.Chat; nil: os.Stdin)
	Out          io.Writer // generated text, streamed as produced (nil: os.Stdout)
}

// Generate streams a continuation of the prompt (or answers chat turns) to
// Out, token by token, under a bounded cache.
func Generate(ctx context.Context, o *GenerateOptions) error {
	spec, err := o.validate()
	if err != nil {
		return err
	}
	m, err := LoadModel(o.Model)
	if err != nil {
		return fmt.Errorf("--model: %w", err)
	}
	tok, err := loadModelTokenizer(o.Model, m)
	if err != nil {
		return err
	}
	out := o.Out
	if out == nil {
		out = os.Stdout
	}
	g := newGenerator(m, spec, tok, o)
	if err := g.turn(ctx, append(m.SinkIDs(), tok.Encode(o.Prompt)...), out); err != nil {
		return err
	}
	_, err = io.WriteString(out, "\n")
	return err
}

func (o *GenerateOptions) validate() (CacheSpec, error) {
	if o.Model == "" {
		return CacheSpec{}, fmt.Errorf("--model is required")
	}
	if o.Chat {
		return CacheSpec{}, fmt.Errorf("chat runs in package serve (serve.Chat), not Generate")
	}
	if o.Prompt == "" {
		return CacheSpec{}, fmt.Errorf("--prompt is required")
	}
	if o.MaxNewTokens < 1 {
		return CacheSpec{}, fmt.Errorf("--max-new-tokens %d, expected ≥ 1", o.MaxNewTokens)
	}
	if o.TopK < 0 || math.IsNaN(o.Temperature) {
		return CacheSpec{}, fmt.Errorf("--top-k %d / --temperature %v, expected top-k ≥ 0 and a number", o.TopK, o.Temperature)
	}
	if !(o.TopP >= 0 && o.TopP <= 1) {
		return CacheSpec{}, fmt.Errorf("--top-p %v, expected 0 ≤ P ≤ 1", o.TopP)
	}
	if o.Cache == "" {
		return CacheSpec{}, fmt.Errorf("--cache is required (e.g. 4+252)")
	}
	spec, err := ParseCacheSpec(o.Cache)
	if err != nil {
		return CacheSpec{}, fmt.Errorf("--cache: %w", err)
	}
	return spec, nil
}

// generator holds one stream's state across prompts and chat turns.
type generator struct {
	m       *Model
	spec    CacheSpec
	sess    *Session
	tok     textTokenizer
	o       *GenerateOptions
	sampler *Sampler
	eos     int32
	hist    []int32 // recompute:W: the last W tokens
	pending []int32 // sampled token not fed yet (start of the next turn)
	text    TextStream
}

func newGenerator(m *Model, spec CacheSpec, tok textTokenizer, o *GenerateOptions) *generator {
	eos := int32(m.Config.EOSTokenID)
	if id, ok := tok.TokenID("<|endoftext|>"); ok {
		eos = id
	}
	so := SamplerOptions{Temperature: o.Temperature, TopK: o.TopK, TopP: o.TopP, Seed: o.Seed}
	return &generator{
		m: m, spec: spec, sess: m.NewSession(spec, 0), tok: tok, o: o,
		sampler: NewSampler(so, m.Config.VocabSize, m.SinkIDs()), eos: eos, text: TextStream{Tok: tok},
	}
}

// feed appends tokens to the stream and returns the last one's logits.
func (g *generator) feed(ids []int32) ([]float32, error) {
	if g.spec.Kind != Recompute {
		return g.sess.Prefill(ids)
	}
	var l []float32
	for _, id := range ids { // each token re-encodes its last W tokens
		if len(g.hist) == g.spec.Window {
			copy(g.hist, g.hist[1:])
			g.hist = g.hist[:len(g.hist)-1]
		}
		g.hist = append(g.hist, id)
		g.sess.Reset()
		var err error
		if l, err = g.sess.Prefill(g.hist); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// turn feeds prompt ids (after evicting room for them and the answer) and
// streams up to MaxNewTokens sampled tokens to out.
func (g *generator) turn(ctx context.Context, ids []int32, out io.Writer) error {
	ids = append(g.pending, ids...)
	g.pending = nil
	if len(ids) == 0 {
		return fmt.Errorf("--prompt: empty after tokenization and the model has no sinks, expected at least one token")
	}
	g.sess.Cache().Evict(len(ids) + g.o.MaxNewTokens)
	logits, err := g.feed(ids)
	if err != nil {
		return err
	}
	for range g.o.MaxNewTokens {
		if err := ctx.Err(); err != nil {
			return err
		}
		next := g.sampler.Sample(logits)
		if next == g.eos {
			break
		}
		if err := g.text.write(out, next); err != nil {
			return err
		}
		if logits, err = g.feed([]int32{next}); err != nil {
			return err
		}
	}
	return g.text.flush(out)
}
