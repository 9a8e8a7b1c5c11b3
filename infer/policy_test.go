package infer

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/internal/kernels"
	"github.com/sinktrain/sinktrain/sinktoken"
)

// nlls scores stream under spec (chunked, DefaultScoreChunk) and returns
// the NLL of every scored target by its index.
func nlls(t *testing.T, m *Model, spec CacheSpec, s Stream) map[int]float64 {
	t.Helper()
	return nllsWith(t, m, spec, s, ScoreOptions{Chunk: DefaultScoreChunk})
}

// nllsWith is nlls with options o (OnNLL is set here).
func nllsWith(t *testing.T, m *Model, spec CacheSpec, s Stream, o ScoreOptions) map[int]float64 {
	t.Helper()
	out := map[int]float64{}
	o.OnNLL = func(i int, _ int32, nll float64) error {
		out[i] = nll
		return nil
	}
	_, err := Score(context.Background(), m, spec, s, o)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sameNLL checks got against want target by target within tol relative
// (of max(1, |want|)).
func sameNLL(t *testing.T, what string, got, want map[int]float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d scored targets, want %d", what, len(got), len(want))
	}
	for i, w := range want {
		if g, ok := got[i]; !ok || math.Abs(g-w) > tol*max(1, math.Abs(w)) {
			t.Fatalf("%s: target %d nll %.7f, want %.7f", what, i, got[i], w)
		}
	}
}

// testStream returns a deterministic pseudo-random stream over [0, v).
func testStream(n, v int) Tokens {
	s := make(Tokens, n)
	for i := range s {
		s[i] = int32((i*7 + i*i*3 + 5) % v)
	}
	return s
}

// TestPoliciesEqualDenseWhenTheyFit: with K+W ≥ the stream length (and
// recompute:W with W ≥ length) nothing is evicted, so every policy gives the
// dense NLLs, for every attention variant and both residual forms. The
// stream is longer than a prefill chunk.
func TestPoliciesEqualDenseWhenTheyFit(t *testing.T) {
	const N = 150
	for _, att := range []sinktoken.Attention{sinktoken.Softmax, sinktoken.Softmax1, sinktoken.SinkLogit} {
		for _, parallel := range []bool{true, false} {
			cfg := tinyConfig(att)
			cfg.ParallelResidual = parallel
			m := randomModel(t, cfg, 3)
			s := testStream(N, cfg.VocabSize)
			dense := nlls(t, m, CacheSpec{Kind: Dense}, s)
			for _, spec := range []string{"0+150", "4+146", "1+200", "recompute:150"} {
				cs, err := ParseCacheSpec(spec)
				if err != nil {
					t.Fatal(err)
				}
				sameNLL(t, string(att)+" "+spec, nlls(t, m, cs, s), dense, 1e-5)
			}
		}
	}
}

// TestRecomputeEqualsFromScratch: recompute:W scores target i+1 by running
// a fresh model over tokens max(0, i−W+1)..i (positions 0..W−1), here token
// by token with Step.
func TestRecomputeEqualsFromScratch(t *testing.T) {
	cfg := tinyConfig(sinktoken.SinkLogit)
	m := randomModel(t, cfg, 4)
	const N, W = 40, 9
	s := testStream(N, cfg.VocabSize)
	want := map[int]float64{}
	for i := 0; i < N-1; i++ {
		sess := m.NewSession(CacheSpec{Kind: Dense}, 0)
		var l []float32
		for _, tok := range s[max(0, i-W+1) : i+1] {
			var err error
			if l, err = sess.Step(tok); err != nil {
				t.Fatal(err)
			}
		}
		want[i+1] = kernels.CrossEntropy(l, int(s[i+1]), nil, 0)
	}
	sameNLL(t, "recompute:9", nlls(t, m, CacheSpec{Kind: Recompute, Window: W}, s), want, 1e-5)
}

// TestSinkWindowChunksEqualSteps: Score prefills in chunks; with eviction
// the result must equal feeding the cache one token at a time.
func TestSinkWindowChunksEqualSteps(t *testing.T) {
	cfg := tinyConfig(sinktoken.Softmax1)
	m := randomModel(t, cfg, 5)
	const N = 200
	s := testStream(N, cfg.VocabSize)
	for _, spec := range []CacheSpec{{Kind: SinkWindow, Sinks: 4, Window: 20}, {Kind: SinkWindow, Window: 7}, {Kind: SinkWindow, Sinks: 70, Window: 30}} {
		sess := m.NewSession(spec, 0)
		want := map[int]float64{}
		for i := 0; i < N-1; i++ {
			l, err := sess.Step(s[i])
			if err != nil {
				t.Fatal(err)
			}
			want[i+1] = kernels.CrossEntropy(l, int(s[i+1]), nil, 0)
		}
		sameNLL(t, spec.String(), nlls(t, m, spec, s), want, 1e-6)
	}
}

// TestSinkTargetsNotScored: targets equal to a sink id are skipped and
// indices count positions in the fed stream.
func TestSinkTargetsNotScored(t *testing.T) {
	cfg := tinyConfig(sinktoken.Softmax)
	cfg.SinkIDs, cfg.SinkTokens = []int{36, 35}, sinktoken.TokenNames(2)
	m := randomModel(t, cfg, 6)
	s := Tokens{36, 35, 1, 2, 36, 3}
	got := nlls(t, m, CacheSpec{Kind: SinkWindow, Sinks: 2, Window: 2}, s)
	// fed: 36 35 1 2 36 3 → targets at 2 (1), 3 (2), 5 (3); 1 (35) and 4 (36) are sinks.
	for _, i := range []int{2, 3, 5} {
		if _, ok := got[i]; !ok {
			t.Errorf("target %d not scored", i)
		}
	}
	if len(got) != 3 {
		t.Errorf("scored %v, want indices 2, 3, 5", got)
	}
}

// TestRecomputeKeepsSinks: for a model with k sinks, recompute:W scores
// target i+1 by a fresh forward over exactly the first k stream tokens (its
// sinks) followed by the last W−k tokens — the keys of a k+(W−k) cache —
// both in Score and in generation; W ≤ k is refused.
func TestRecomputeKeepsSinks(t *testing.T) {
	cfg := tinyConfig(sinktoken.Softmax)
	cfg.SinkIDs, cfg.SinkTokens = []int{36, 35}, sinktoken.TokenNames(2)
	m := randomModel(t, cfg, 7)
	const N, W, k = 40, 9, 2
	s := append(Tokens{36, 35}, testStream(N-2, 30)...)
	fresh := func(end int) []float32 {
		win := s[:end]
		if end > W {
			win = append(append(Tokens{}, s[:k]...), s[end-(W-k):end]...)
		}
		sess := m.NewSession(CacheSpec{Kind: Dense}, 0)
		l, err := sess.Prefill(win)
		if err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), l...)
	}
	want := map[int]float64{}
	for i := 1; i < N-1; i++ { // target 1 is a sink id: not scored
		want[i+1] = kernels.CrossEntropy(fresh(i+1), int(s[i+1]), nil, 0)
	}
	spec := CacheSpec{Kind: Recompute, Window: W}
	sameNLL(t, "recompute:9 with 2 sinks", nlls(t, m, spec, s), want, 1e-5)

	// Generation feeds the same windows.
	g := NewGenerator(m, spec, nil)
	for end := 1; end <= N; end++ {
		l, err := g.feed(s[end-1 : end])
		if err != nil {
			t.Fatal(err)
		}
		if d := maxAbsDiff(l, fresh(end)); d > 1e-5 {
			t.Fatalf("generation after %d tokens: logits differ by %g from a fresh forward of its window", end, d)
		}
	}

	_, err := Score(context.Background(), m, CacheSpec{Kind: Recompute, Window: k}, s, ScoreOptions{})
	if err == nil || !strings.Contains(err.Error(), "at least 3") {
		t.Fatalf("recompute:2 with 2 sinks: err %v, want a refusal naming W ≥ 3", err)
	}
}

func maxAbsDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}
