package infer

import (
	"slices"
	"testing"
)

// stepAll feeds toks one at a time to s and returns every row's logits.
func stepAll(t *testing.T, s *Session, toks []int32) []float32 {
	t.Helper()
	V := s.m.Config.VocabSize
	out := make([]float32, len(toks)*V)
	for i, tok := range toks {
		l, err := s.Step(tok)
		if err != nil {
			t.Fatal(err)
		}
		copy(out[i*V:], l)
	}
	return out
}

// TestLongPrefillMatchesSteps: a Prefill longer than DefaultChunk runs in
// passes of up to PrefillChunk rows (temporary buffers, attention in blocks
// of rows) and gives every row's logits as feeding the tokens one at a time
// does — for a dense cache, a K+W cache the prompt fits in and one it
// overflows (passes then stop where the ring would evict a visible key) —
// and so does a multi-token prefill after Cache.Evict (a chat turn: sinks
// at cache positions that are not their stream positions). Afterwards the
// session is back on its DefaultChunk buffers.
func TestLongPrefillMatchesSteps(t *testing.T) {
	m := randomModel(t, referenceConfig(), 3)
	V := m.Config.VocabSize
	const n = 700 // two passes of PrefillChunk rows or less
	toks := synthStream{n: n, vocab: V}.Window(0, n, nil)
	for _, spec := range []string{"dense", "4+1020", "4+124"} {
		cs, err := ParseCacheSpec(spec)
		if err != nil {
			t.Fatal(err)
		}
		want := stepAll(t, m.newSession(cs, n, 2), toks)
		got := make([]float32, n*V)
		s := m.newSession(cs, n, 2)
		if err := s.PrefillAll(toks, got); err != nil {
			t.Fatal(err)
		}
		if e := worstRowErr(got, want, V); !(e <= 1e-5) {
			t.Errorf("%s: prefill of %d tokens vs steps: relative error %.3g > 1e-5 (worst row)", spec, n, e)
		}
		if rows := len(s.a.x) / m.Config.HiddenSize; rows != DefaultChunk {
			t.Errorf("%s: after the prefill the session holds buffers for %d rows, want %d", spec, rows, DefaultChunk)
		}
		last, err := m.newSession(cs, n, 2).Prefill(toks)
		if err != nil {
			t.Fatal(err)
		}
		if e := worstRowErr(last, want[(n-1)*V:], V); !(e <= 1e-5) {
			t.Errorf("%s: Prefill's last logits vs steps: relative error %.3g > 1e-5", spec, e)
		}
	}
}

// TestPrefillAfterEvict: for every family and variant, a 4+20 session that
// has streamed past its window, evicted room for a 12-token turn and
// prefilled it gives the logits of stepping the same turn after the same
// eviction, and prefill passes of 1..12 rows agree.
func TestPrefillAfterEvict(t *testing.T) {
	names := make([]string, 0, len(variantConfigs))
	for name := range variantConfigs {
		names = append(names, name)
	}
	slices.Sort(names)
	spec := CacheSpec{Kind: SinkWindow, Sinks: 4, Window: 20}
	for _, name := range names {
		m, _ := variantModel(t, name, 2)
		V := m.Config.VocabSize
		toks := synthStream{n: 60, vocab: V}.Window(0, 60, nil)
		history, turn := toks[:48], toks[48:]
		start := func() *Session {
			s := m.newSession(spec, 0, 2)
			stepAll(t, s, history)
			s.Cache().Evict(len(turn))
			return s
		}
		want := stepAll(t, start(), turn)
		for _, rows := range []int{2, 5, len(turn)} {
			s := start()
			s.most = rows
			got := make([]float32, len(turn)*V)
			if err := s.PrefillAll(turn, got); err != nil {
				t.Fatal(err)
			}
			if e := worstRowErr(got, want, V); !(e <= 1e-5) {
				t.Errorf("%s: turn after Evict in passes of %d rows vs steps: relative error %.3g > 1e-5", name, rows, e)
			}
		}
	}
}

// worstRowErr is the largest relErr of a row of V values of got against
// the same row of want.
func worstRowErr(got, want []float32, V int) float64 {
	worst := 0.0
	ref := make([]float64, V)
	for r := 0; r+V <= len(got); r += V {
		for i, v := range want[r : r+V] {
			ref[i] = float64(v)
		}
		worst = max(worst, relErr(got[r:r+V], ref))
	}
	return worst
}
