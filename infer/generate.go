package infer

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Generator continues one token stream under a bounded cache: a Session
// (for recompute:W, the window it re-encodes for every token) and a
// Sampler. The stream persists across calls to Turn, so a conversation
// keeps one cache whose size never exceeds the spec. A Generator is not
// safe for concurrent use.
type Generator struct {
	// EOS ends a turn when sampled (it is not emitted or fed). NewGenerator
	// sets it to the config's eos_token_id; −1 (with MoreEOS empty): no
	// token ends a turn.
	EOS int32
	// MoreEOS are further tokens that end a turn like EOS (a chat model's
	// end-of-turn tokens: tokenizer_config.json's eos_token,
	// generation_config.json's eos_token_id). NewGenerator sets it to the
	// rest of config.json's eos_token_id when that is a list (Llama 3).
	MoreEOS []int32

	m       *Model
	spec    CacheSpec
	sess    *Session
	sampler *Sampler
	hist    []int32 // recompute:W: the re-encoded window, the first k fed tokens (the model's sinks) + the last W−k
}

// NewGenerator returns a generator for m under spec drawing with s.
func NewGenerator(m *Model, spec CacheSpec, s *Sampler) *Generator {
	g := &Generator{EOS: int32(m.Config.EOSTokenID), m: m, spec: spec, sess: m.NewSession(spec, 0), sampler: s}
	for _, id := range m.Config.EOSTokenIDs[min(1, len(m.Config.EOSTokenIDs)):] {
		g.MoreEOS = append(g.MoreEOS, int32(id))
	}
	return g
}

// ResumeGenerator returns a generator that continues sess (a session of m
// under spec, e.g. from RestoreSession) drawing with s.
func (m *Model) ResumeGenerator(sess *Session, spec CacheSpec, s *Sampler) *Generator {
	return &Generator{EOS: int32(m.Config.EOSTokenID), m: m, spec: spec, sess: sess, sampler: s}
}

// SetSampler makes the following turns draw with s (a server's requests
// each bring their sampling parameters).
func (g *Generator) SetSampler(s *Sampler) { g.sampler = s }

// Session returns the generator's session (its cache holds the stream so
// far).
func (g *Generator) Session() *Session { return g.sess }

// ErrNothingToFeed is Turn's error for an empty token list.
var ErrNothingToFeed = errors.New("no tokens to feed (an empty prompt and a model without sinks)")

// Turn appends ids to the stream, first evicting the oldest window tokens
// so that ids and up to maxNew answer tokens fit without evicting during
// their prefill (StreamingLLM's multi-round dialogue), then samples up to
// maxNew tokens, feeding each back and passing it to emit, until the
// sampler draws EOS. emit's error stops the turn and is returned.
func (g *Generator) Turn(ctx context.Context, ids []int32, maxNew int, emit func(tok int32) error) error {
	if len(ids) == 0 {
		return ErrNothingToFeed
	}
	if maxNew < 1 {
		return fmt.Errorf("%d new tokens, expected ≥ 1", maxNew)
	}
	g.sess.Cache().Evict(len(ids) + maxNew)
	logits, err := g.feed(ids)
	if err != nil {
		return err
	}
	for range maxNew {
		if err := ctx.Err(); err != nil {
			return err
		}
		next := g.sampler.Sample(logits)
		if next == g.EOS || slices.Contains(g.MoreEOS, next) {
			return nil
		}
		if err := emit(next); err != nil {
			return err
		}
		if logits, err = g.feed([]int32{next}); err != nil {
			return err
		}
	}
	return nil
}

// feed appends tokens to the stream and returns the last one's logits.
func (g *Generator) feed(ids []int32) ([]float32, error) {
	if g.spec.Kind != Recompute {
		return g.sess.Prefill(ids)
	}
	var l []float32
	k := len(g.m.Config.SinkIDs)
	if err := g.spec.CheckSinks(k); err != nil {
		return nil, err
	}
	for _, id := range ids { // each token re-encodes the first k tokens + the last W−k
		if len(g.hist) == g.spec.Window {
			copy(g.hist[k:], g.hist[k+1:]) // the first k stay (RecomputeWindow)
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
