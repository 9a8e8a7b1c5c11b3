package serve

import (
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sinktrain/sinktrain/checkpoint"
	"github.com/sinktrain/sinktrain/data/tokenizer"
	"github.com/sinktrain/sinktrain/infer"
)

// Engine is one loaded model with its tokenizer, chat template and cache
// policy. It is read-only and shared by all its conversations.
type Engine struct {
	Name     string // the model name of the API
	Dir      string
	Model    *infer.Model
	Tok      *tokenizer.Tokenizer
	Template Template
	Spec     infer.CacheSpec
	eos      []int32 // tokens that end a reply: the first is the Generator's EOS
}

// LoadEngine loads the model folder dir (a sinktrain run/checkpoint or an HF
// folder: config.json, model.safetensors, tokenizer.json, optionally
// tokenizer_config.json with a chat_template) for conversations under spec,
// which must be K+W or dense, its weights stored as dtype (float32 or
// bfloat16, infer.LoadModelAs).
func LoadEngine(name, dir string, spec infer.CacheSpec, dtype checkpoint.DType) (*Engine, error) {
	if spec.Kind == infer.Recompute {
		return nil, fmt.Errorf("cache %s: conversations need a K+W (or dense) cache that keeps its keys between turns; recompute re-encodes its window for every token", spec)
	}
	m, err := infer.LoadModelAs(dir, dtype)
	if err != nil {
		return nil, err
	}
	tok, err := infer.LoadTokenizer(dir, m)
	if err != nil {
		return nil, err
	}
	tmpl, err := LoadTemplate(dir)
	if err != nil {
		return nil, err
	}
	e := &Engine{Name: name, Dir: dir, Model: m, Tok: tok, Template: tmpl, Spec: spec}
	// As sinktrain generate: <|endoftext|> when the tokenizer has it, else
	// the config's eos_token_id; then a chat model's end-of-turn tokens.
	if id, ok := tok.TokenID("<|endoftext|>"); ok {
		e.eos = append(e.eos, id)
	} else {
		e.eos = append(e.eos, int32(m.Config.EOSTokenID))
	}
	if j, ok := tmpl.(*JinjaTemplate); ok {
		if s, _ := j.special["eos_token"].(string); s != "" {
			if id, ok := tok.TokenID(s); ok {
				e.eos = append(e.eos, id)
			}
		}
	}
	ids, err := generationEOS(dir)
	if err != nil {
		return nil, err
	}
	e.eos = append(e.eos, ids...)
	return e, nil
}

// generationEOS reads eos_token_id (a number or a list) of the folder's
// generation_config.json, if there is one.
func generationEOS(dir string) ([]int32, error) {
	path := filepath.Join(dir, "generation_config.json")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var g struct {
		EOS json.RawMessage `json:"eos_token_id"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(g.EOS) == 0 || string(g.EOS) == "null" {
		return nil, nil
	}
	var one int32
	if json.Unmarshal(g.EOS, &one) == nil {
		return []int32{one}, nil
	}
	var many []int32
	if err := json.Unmarshal(g.EOS, &many); err != nil {
		return nil, fmt.Errorf("%s: eos_token_id must be a token id or a list of them", path)
	}
	return many, nil
}

// Conversation is one stream of text through an Engine's model under its
// K+W cache, turn after turn: it remembers the hash of all the text it has
// read (to recognise the request that continues it) but not the text.
type Conversation struct {
	e         *Engine
	gen       *infer.Generator // its Session holds the cache
	text      hash.Hash        // SHA-256 of every byte of text read so far (prompts and replies)
	textLen   int64
	turns     int    // replies generated
	lastReply string // the last reply (for PinnedDelta)
}

// NewConversation starts an empty conversation.
func (e *Engine) NewConversation() *Conversation {
	return e.conversation(e.Model.NewSession(e.Spec, 0))
}

// conversation wraps a session (new or restored).
func (e *Engine) conversation(sess *infer.Session) *Conversation {
	g := e.Model.ResumeGenerator(sess, e.Spec, nil)
	g.EOS, g.MoreEOS = e.eos[0], e.eos[1:]
	return &Conversation{e: e, gen: g, text: sha256.New()}
}

func (c *Conversation) session() *infer.Session { return c.gen.Session() }

// Key returns the SHA-256 of the conversation's text so far.
func (c *Conversation) Key() [32]byte {
	var k [32]byte
	c.text.Sum(k[:0])
	return k
}

// Turns returns the number of replies generated so far.
func (c *Conversation) Turns() int { return c.turns }

// Cache returns the conversation's cache usage.
func (c *Conversation) Cache() CacheUsage {
	s, w, ev := c.session().Cache().Occupancy()
	return CacheUsage{
		Spec: c.e.Spec.String(), Sinks: s, Window: w, WindowSize: c.e.Spec.Window,
		Evicted: ev, Seen: c.session().Cache().Seen(), Turns: c.turns,
	}
}

// textKey is the hash of a conversation's whole text.
func textKey(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// ExtensionDelta finds where msgs continue an earlier conversation: when
// the last assistant message of msgs is a reply this server generated, the
// conversation that generated it has read exactly render(messages before
// it, with the generation prompt) + that reply. ExtensionDelta returns the
// key of that text and the text that follows it in msgs' rendering
// (ok false when msgs have no assistant message or the template does not
// render the longer conversation as a continuation of the shorter). full
// is render(msgs, generation prompt).
func ExtensionDelta(t Template, msgs []Message, full string) (key [32]byte, delta string, ok bool) {
	j := -1
	for i, m := range msgs {
		if m.Role == "assistant" {
			j = i
		}
	}
	if j < 0 {
		return key, "", false
	}
	head, err := t.Render(msgs[:j], true)
	if err != nil {
		return key, "", false
	}
	head += string(msgs[j].Content)
	if !strings.HasPrefix(full, head) {
		return key, "", false
	}
	return textKey(head), full[len(head):], true
}

// PinnedDelta returns the text with which new messages (no earlier ones)
// continue the conversation c, for a session pinned by id whose client
// sends only its new turns. After a reply r the template is asked for
// render([user "", assistant r] + msgs) and the text after
// render([user ""], generation prompt) + r is taken, so that whatever the
// template puts after an assistant message (end-of-turn tokens, blank
// lines) comes first. Before any reply it is render(msgs).
func (c *Conversation) PinnedDelta(t Template, msgs []Message) (string, error) {
	if c.turns == 0 || c.session().Cache().Seen() == 0 {
		return t.Render(msgs, true)
	}
	pre := []Message{{Role: "user"}, {Role: "assistant", Content: Content(c.lastReply)}}
	all, err := t.Render(append(pre, msgs...), true)
	if err != nil {
		return "", err
	}
	head, err := t.Render(pre[:1], true)
	if err != nil {
		return "", err
	}
	head += c.lastReply
	if !strings.HasPrefix(all, head) {
		return "", fmt.Errorf("%w: the template does not render a conversation as a continuation of its first turns", ErrTemplate)
	}
	return all[len(head):], nil
}

// TurnParams are one turn's generation parameters.
type TurnParams struct {
	MaxTokens int                  // ≥ 1
	Sampling  infer.SamplerOptions // Stream is set by Turn (the turn's index)
	Stop      []string             // the reply ends before the first of these
	IgnoreEOS bool                 // end-of-text tokens are generated like any other
}

// TurnResult is what a turn produced.
type TurnResult struct {
	Reply            string
	Finish           string // "stop" (end of text or a stop string) or "length"
	PromptTokens     int    // tokens read for the prompt (sinks included)
	CompletionTokens int    // tokens generated
	// PromptTime runs from the start of the turn to its first generated
	// token (prefill and one sample); DecodeTime from the first generated
	// token to the last (CompletionTokens − 1 decoding steps, each with the
	// emission of its piece).
	PromptTime, DecodeTime time.Duration
}

// Turn reads text (the new part of the conversation), then generates a
// reply of at most p.MaxTokens tokens, calling emit with each piece of the
// reply as it becomes final (never a piece of a stop string). Before
// reading, the oldest window tokens are evicted so that the text and the
// reply fit in the window without evicting during the turn (StreamingLLM's
// evict_for_space). Sampling draws from stream Turns() of the seed, so a
// conversation's turns are reproducible one by one. A reply that ends at
// an end-of-text token does not feed that token, nor does one that ends at
// a stop string feed the token completing it; every other generated token
// is read, so the cache holds the conversation as generated (the Generator
// of package infer runs the loop). On a cancelled ctx the turn stops between
// tokens: the reply so far counts as the turn's reply and ctx's error is
// returned with it.
func (c *Conversation) Turn(ctx context.Context, text string, p TurnParams, emit func(string) error) (TurnResult, error) {
	var res TurnResult
	start := time.Now()
	ids := c.e.Tok.Encode(text)
	if c.session().Cache().Seen() == 0 {
		ids = append(c.e.Model.SinkIDs(), ids...)
	}
	if len(ids) == 0 {
		return res, fmt.Errorf("the prompt is empty after tokenization and the model has no sinks")
	}
	if p.MaxTokens < 1 {
		return res, fmt.Errorf("max tokens %d, expected ≥ 1", p.MaxTokens)
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	so := p.Sampling
	so.Stream = uint64(c.turns)
	sampler, err := infer.NewSampler(so, c.e.Model.SinkIDs())
	if err != nil {
		return res, err
	}
	c.gen.SetSampler(sampler)
	if p.IgnoreEOS {
		eos, more := c.gen.EOS, c.gen.MoreEOS
		c.gen.EOS, c.gen.MoreEOS = -1, nil
		defer func() { c.gen.EOS, c.gen.MoreEOS = eos, more }()
	}
	res.PromptTokens = len(ids)
	out := replyWriter{stops: p.Stop, emit: emit}
	ts := c.e.Tok.NewDecodeStream()
	var first time.Time
	err = c.gen.Turn(ctx, ids, p.MaxTokens, func(tok int32) error {
		res.CompletionTokens++
		if now := time.Now(); res.CompletionTokens == 1 {
			first, res.PromptTime = now, now.Sub(start)
		} else {
			res.DecodeTime = now.Sub(first)
		}
		stopped, err := out.add(ts.Next(tok))
		if err == nil && stopped {
			err = errStopped
		}
		return err
	})
	c.read(text)
	res.Finish = "stop"
	switch {
	case errors.Is(err, errStopped):
		err = nil
	case err == nil && !out.stopped:
		if res.CompletionTokens == p.MaxTokens {
			res.Finish = "length"
		}
		if stopped, e := out.add(ts.Flush()); e != nil {
			err = e
		} else if stopped {
			res.Finish = "stop"
		}
	}
	if err == nil {
		err = out.finish()
	}
	res.Reply = out.text()
	c.read(res.Reply)
	c.turns++
	c.lastReply = res.Reply
	return res, err
}

// read adds text the model has read to the conversation's hash.
func (c *Conversation) read(text string) {
	c.text.Write([]byte(text))
	c.textLen += int64(len(text))
}

// errStopped ends a turn at a stop string.
var errStopped = errors.New("stop string")

// replyWriter collects a reply and emits it piece by piece, holding back
// any tail that may be the start of a stop string.
type replyWriter struct {
	stops   []string
	emit    func(string) error
	buf     strings.Builder
	sent    int // bytes of buf emitted
	stopped bool
	cut     int // len of the reply when a stop string was found
}

// add appends a decoded piece; it reports whether a stop string ended the
// reply.
func (w *replyWriter) add(piece string) (bool, error) {
	if piece == "" {
		return false, nil
	}
	piece = validUTF8(piece)
	from := max(0, w.buf.Len()-w.longestStop())
	w.buf.WriteString(piece)
	s := w.buf.String()
	cut := -1
	for _, st := range w.stops {
		if i := strings.Index(s[from:], st); st != "" && i >= 0 && (cut < 0 || from+i < cut) {
			cut = from + i
		}
	}
	if cut >= 0 {
		w.stopped, w.cut = true, cut
		return true, w.send(s[:cut])
	}
	return false, w.send(s[:len(s)-w.holdBack(s)])
}

// finish emits what is left.
func (w *replyWriter) finish() error { return w.send(w.text()) }

func (w *replyWriter) text() string {
	if w.stopped {
		return w.buf.String()[:w.cut]
	}
	return w.buf.String()
}

func (w *replyWriter) send(upto string) error {
	if len(upto) <= w.sent {
		return nil
	}
	piece := upto[w.sent:]
	w.sent = len(upto)
	if w.emit == nil {
		return nil
	}
	return w.emit(piece)
}

func (w *replyWriter) longestStop() int {
	n := 0
	for _, s := range w.stops {
		n = max(n, len(s))
	}
	return n
}

// holdBack returns the length of the longest suffix of s that is a proper
// prefix of a stop string.
func (w *replyWriter) holdBack(s string) int {
	best := 0
	for _, st := range w.stops {
		for k := min(len(st)-1, len(s)); k > best; k-- {
			if strings.HasSuffix(s, st[:k]) {
				best = k
				break
			}
		}
	}
	return best
}

// conversationState is the part of a Conversation besides its KV cache that
// a session file stores.
type conversationState struct {
	TextHash  []byte `json:"text_hash_state"` // the SHA-256 state (encoding.BinaryMarshaler)
	TextLen   int64  `json:"text_len"`
	Turns     int    `json:"turns"`
	LastReply string `json:"last_reply"`
}

func (c *Conversation) state() (conversationState, error) {
	h, err := c.text.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return conversationState{}, err
	}
	return conversationState{TextHash: h, TextLen: c.textLen, Turns: c.turns, LastReply: c.lastReply}, nil
}

func (e *Engine) conversationFrom(st conversationState, sess *infer.Session) (*Conversation, error) {
	h := sha256.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(st.TextHash); err != nil {
		return nil, fmt.Errorf("text hash state: %w", err)
	}
	c := e.conversation(sess)
	c.text, c.textLen, c.turns, c.lastReply = h, st.TextLen, st.Turns, st.LastReply
	return c, nil
}

// validUTF8 replaces every byte that is not part of a valid UTF-8 character
// with U+FFFD, as encoding/json does when it writes a string: the reply a
// conversation hashes is then exactly the text its client gets and sends
// back (a byte-level BPE model may generate bytes that do not form
// characters).
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteString("\uFFFD")
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
