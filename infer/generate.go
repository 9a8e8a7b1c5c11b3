package infer

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/sinktrain/sinktrain/sinktoken"
)

// GenerateOptions configures Generate (sinktrain generate).
type GenerateOptions struct {
	Model  string // run/checkpoint directory or plain HF GPT-NeoX folder (with tokenizer.json)
	Cache  string // cache spec (ParseCacheSpec); recompute:W re-encodes W tokens per new token
	Prompt string // the prompt (the model's sinks are prepended)
	// Chat reads one user turn per line from In and answers each, keeping
	// one bounded cache across turns: before each turn the oldest window
	// tokens are evicted so that the turn and its answer fit.
	Chat         bool
	MaxNewTokens int     // per prompt or turn
	Temperature  float64 // ≤ 0: greedy
	TopK         int     // sample among the K most likely tokens; 0: all
	Seed         uint64
	In           io.Reader // chat turns (nil: os.Stdin)
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
	out, in := o.Out, o.In
	if out == nil {
		out = os.Stdout
	}
	if in == nil {
		in = os.Stdin
	}
	bos, _, err := specialIDs(filepath.Join(o.Model, "tokenizer.json"))
	if err != nil {
		return err
	}
	start := append(m.SinkIDs(), bos...) // sinks, then the post-processor's BOS (Llama, Mistral)
	g := newGenerator(m, spec, tok, o)
	if !o.Chat {
		if err := g.turn(ctx, append(start, tok.Encode(o.Prompt)...), out); err != nil {
			return err
		}
		_, err := io.WriteString(out, "\n")
		return err
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<24)
	first := true
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		ids := tok.Encode(line + "\n")
		if first {
			ids, first = append(start, ids...), false
		}
		if err := g.turn(ctx, ids, out); err != nil {
			return err
		}
		if _, err := io.WriteString(out, "\n"); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("chat: reading turns: %w", err)
	}
	return nil
}

func (o *GenerateOptions) validate() (CacheSpec, error) {
	if o.Model == "" {
		return CacheSpec{}, fmt.Errorf("--model is required")
	}
	if o.Chat == (o.Prompt != "") {
		return CacheSpec{}, fmt.Errorf("exactly one of --prompt and --chat is required")
	}
	if o.MaxNewTokens < 1 {
		return CacheSpec{}, fmt.Errorf("--max-new-tokens %d, expected ≥ 1", o.MaxNewTokens)
	}
	if o.TopK < 0 || math.IsNaN(o.Temperature) {
		return CacheSpec{}, fmt.Errorf("--top-k %d / --temperature %v, expected top-k ≥ 0 and a number", o.TopK, o.Temperature)
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
	rng     *rand.Rand
	eos     []int32 // generation stops at any of these
	sinks   []int32
	hist    []int32   // recompute:W: the last W tokens
	pending []int32   // sampled token not fed yet (start of the next turn)
	sorted  []float32 // [V] top-k scratch
	probs   []float64 // [V] sampling scratch
	text    utf8Stream
}

func newGenerator(m *Model, spec CacheSpec, tok textTokenizer, o *GenerateOptions) *generator {
	var eos []int32 // config.json's end ids (Llama 3 lists several) and <|endoftext|>
	for _, id := range append([]int{m.Config.EOSTokenID}, m.Config.EOSTokenIDs...) {
		if id >= 0 {
			eos = append(eos, int32(id))
		}
	}
	if id, ok := tok.TokenID("<|endoftext|>"); ok {
		eos = append(eos, id)
	}
	V := m.Config.VocabSize
	return &generator{
		m: m, spec: spec, sess: m.NewSession(spec, 0), tok: tok, o: o,
		rng: rand.New(rand.NewPCG(o.Seed, 0x9e3779b97f4a7c15)), eos: eos, sinks: m.SinkIDs(),
		sorted: make([]float32, V), probs: make([]float64, V), text: utf8Stream{tok: tok},
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
		next := g.sample(logits)
		if slices.Contains(g.eos, next) {
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

// sample draws the next token (never a sink): greedy for temperature ≤ 0,
// otherwise softmax(logits/T) over the top-k.
func (g *generator) sample(logits []float32) int32 {
	masked := func(i int) bool { return sinktoken.IsSink(int32(i), g.sinks) }
	if g.o.Temperature <= 0 {
		best := -1
		for i, v := range logits {
			if !masked(i) && (best < 0 || v > logits[best]) {
				best = i
			}
		}
		return int32(best)
	}
	threshold := float32(math.Inf(-1))
	if k := g.o.TopK; k > 0 && k < len(logits) {
		copy(g.sorted, logits)
		slices.Sort(g.sorted)
		threshold = g.sorted[len(logits)-k]
	}
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = max(mx, float64(v))
	}
	var sum float64
	for i, v := range logits {
		p := 0.0
		if !masked(i) && v >= threshold {
			p = math.Exp((float64(v) - mx) / g.o.Temperature)
		}
		g.probs[i] = p
		sum += p
	}
	r := g.rng.Float64() * sum
	last := 0
	for i, p := range g.probs {
		if p == 0 {
			continue
		}
		last = i
		if r -= p; r < 0 {
			break
		}
	}
	return int32(last)
}

// utf8Stream decodes tokens incrementally: byte-level BPE tokens may split a
// character, so bytes of an incomplete trailing character are held back
// until the tokens that complete it arrive.
type utf8Stream struct {
	tok textTokenizer
	ids []int32 // tokens not written yet
}

// write adds a token and writes whatever text is complete.
func (u *utf8Stream) write(w io.Writer, id int32) error {
	u.ids = append(u.ids, id)
	s := u.tok.Decode(u.ids)
	if incomplete(s) && len(u.ids) < utf8.UTFMax {
		return nil
	}
	u.ids = u.ids[:0]
	_, err := io.WriteString(w, s)
	return err
}

// flush writes any held-back text.
func (u *utf8Stream) flush(w io.Writer) error {
	if len(u.ids) == 0 {
		return nil
	}
	s := u.tok.Decode(u.ids)
	u.ids = u.ids[:0]
	_, err := io.WriteString(w, s)
	return err
}

// incomplete reports whether s ends inside a UTF-8 character (raw bytes) or
// with the replacement character a decoder puts for one.
func incomplete(s string) bool {
	if strings.HasSuffix(s, "\uFFFD") {
		return true
	}
	for i := 1; i <= min(utf8.UTFMax-1, len(s)); i++ {
		if b := s[len(s)-i]; utf8.RuneStart(b) {
			return b >= utf8.RuneSelf && !utf8.FullRuneInString(s[len(s)-i:])
		}
	}
	return false
}
