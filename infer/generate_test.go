package infer

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/sinktoken"
)

// turn runs one Generator turn and returns the emitted tokens.
func turn(t *testing.T, g *Generator, ids []int32, maxNew int) []int32 {
	t.Helper()
	var out []int32
	if err := g.Turn(context.Background(), ids, maxNew, func(tok int32) error { out = append(out, tok); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGenerator: greedy generation is deterministic and equals picking the
// argmax of the session's logits by hand; sampling with a seed is
// reproducible and never draws a sink; every cache keeps its bound across
// turns.
func TestGenerator(t *testing.T) {
	cfg := tinyConfig(sinktoken.Softmax)
	cfg.SinkTokens, cfg.SinkIDs = []string{sinktoken.TokenName(0)}, []int{3}
	cfg.EOSTokenID = cfg.VocabSize - 1
	m := randomModel(t, cfg, 5)
	prompt := []int32{3, 10, 11, 12}
	greedy := func(spec CacheSpec) *Generator {
		s, err := NewSampler(SamplerOptions{}, m.SinkIDs())
		must(t, err)
		return NewGenerator(m, spec, s)
	}
	a := turn(t, greedy(CacheSpec{Kind: SinkWindow, Sinks: 1, Window: 15}), prompt, 12)
	b := turn(t, greedy(CacheSpec{Kind: SinkWindow, Sinks: 1, Window: 15}), prompt, 12)
	if len(a) == 0 || !slices.Equal(a, b) {
		t.Fatalf("greedy outputs differ or are empty: %v vs %v", a, b)
	}
	// By hand: the argmax (sinks excluded) of each step's logits.
	s := m.NewSession(CacheSpec{Kind: SinkWindow, Sinks: 1, Window: 15}, 0)
	s.Cache().Evict(len(prompt) + 12)
	l, err := s.Prefill(prompt)
	must(t, err)
	for i, want := range a {
		best := 0
		for j, v := range l {
			if j != 3 && v > l[best] {
				best = j
			}
		}
		if int32(best) != want {
			t.Fatalf("token %d: generator %d, argmax %d", i, want, best)
		}
		if l, err = s.Step(want); err != nil {
			t.Fatal(err)
		}
	}
	sample := func() []int32 {
		smp, err := NewSampler(SamplerOptions{Temperature: 1.5, TopK: 5, Seed: 3}, m.SinkIDs())
		must(t, err)
		return turn(t, NewGenerator(m, CacheSpec{Kind: Dense}, smp), prompt, 30)
	}
	x, y := sample(), sample()
	if !slices.Equal(x, y) || slices.Contains(x, 3) {
		t.Fatalf("seeded sampling %v vs %v (sink 3 must never be drawn)", x, y)
	}
	for _, spec := range []CacheSpec{{Kind: SinkWindow, Sinks: 1, Window: 31}, {Kind: Recompute, Window: 16}, {Kind: Dense}} {
		g := greedy(spec)
		for range 3 {
			if out := turn(t, g, []int32{20, 21, 22, 23, 24, 25}, 6); len(out) == 0 {
				t.Fatalf("%s: a turn produced nothing", spec)
			}
			if c := g.Session().Cache(); spec.Kind == SinkWindow && c.Seen()-c.windowStart > spec.Slots() {
				t.Fatalf("%s: the window holds %d tokens", spec, c.Seen()-c.windowStart)
			}
		}
	}
	if err := greedy(CacheSpec{Kind: Dense}).Turn(context.Background(), nil, 3, nil); !errors.Is(err, ErrNothingToFeed) {
		t.Errorf("empty turn: %v, want ErrNothingToFeed", err)
	}
	if _, err := NewSampler(SamplerOptions{TopK: -1}, nil); err == nil || !strings.Contains(err.Error(), "top-k -1:") {
		t.Errorf("top-k -1: %v", err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
