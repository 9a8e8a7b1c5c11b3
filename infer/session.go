package infer

import (
	"fmt"
	"runtime"

	"github.com/sinktrain/sinktrain/internal/gemm"
	"github.com/sinktrain/sinktrain/internal/kernels"
	"github.com/sinktrain/sinktrain/model"
	"github.com/sinktrain/sinktrain/sinktoken"
)

// DefaultChunk is the number of prompt tokens Prefill runs as one
// matrix-matrix pass.
const DefaultChunk = 64

// AttentionFunc receives one attention row while a Session runs: layer,
// head, the query's stream position t and probs[i], the attention weight on
// the i-th key of Cache.Keys(nil, t) (sinks first, then the window oldest
// first; for a dense cache, key i is stream position i). With softmax1 and
// sink_logit the row sums to less than 1. probs is only valid during the
// call.
type AttentionFunc func(layer, head, t int, probs []float32)

// Session runs one token stream through a Model with a KV cache. All
// buffers are allocated up front; Step allocates nothing (a dense cache
// grows by doubling). A Session is not safe for concurrent use; it runs its
// matrix-vector products and attention heads on GOMAXPROCS goroutines.
type Session struct {
	engine
	cache  *Cache
	chunk  int       // T: rows per matrix-matrix pass
	a      acts      // [T, ·] activations
	scores []float32 // [H, capacity] one attention row per head
	logits []float32 // [T, V] (only rows asked for are computed)

	// OnAttention, when set, receives every attention row (see AttentionFunc);
	// the heads then run one after another.
	OnAttention AttentionFunc
}

// NewSession returns a session with a cache for spec. For dense, hint is the
// expected stream length (the cache grows beyond it). Recompute specs get a
// dense cache; the caller re-encodes windows (see Score).
func (m *Model) NewSession(spec CacheSpec, hint int) *Session {
	return m.newSession(spec, hint, runtime.GOMAXPROCS(0))
}

// newSession is NewSession on workers goroutines.
func (m *Model) newSession(spec CacheSpec, hint, workers int) *Session {
	c := m.Config
	T := DefaultChunk
	if spec.Kind == Recompute {
		hint = spec.Window
	}
	s := &Session{
		engine: newEngine(m, workers), cache: NewCache(spec, c.NumLayers, m.KV, m.hd, hint), chunk: T,
		a: newActs(m, T), logits: make([]float32, T*c.VocabSize),
	}
	s.scores = make([]float32, m.H*s.cache.capacity)
	return s
}

// Cache returns the session's KV cache.
func (s *Session) Cache() *Cache { return s.cache }

// Reset empties the cache (keeping its memory) for a new stream.
func (s *Session) Reset() { s.cache.Reset() }

// Step appends one token and returns its next-token logits [V], valid until
// the next call.
func (s *Session) Step(tok int32) ([]float32, error) {
	return s.Prefill([]int32{tok})
}

// Prefill appends tokens, in matrix-matrix chunks of up to DefaultChunk rows
// as long as no token that a row must see is evicted by a later row of the
// same chunk (a full K+W cache therefore goes token by token, which is the
// per-step semantics), and returns the next-token logits [V] of the last
// token, valid until the next call.
func (s *Session) Prefill(toks []int32) ([]float32, error) {
	if err := s.run(toks, nil); err != nil {
		return nil, err
	}
	return s.logits[:s.m.Config.VocabSize], nil
}

// PrefillAll is Prefill that writes every token's logits into dst
// [len(toks), V].
func (s *Session) PrefillAll(toks []int32, dst []float32) error {
	V := s.m.Config.VocabSize
	if len(dst) < len(toks)*V {
		return fmt.Errorf("logits buffer has %d values, expected %d", len(dst), len(toks)*V)
	}
	return s.run(toks, dst)
}

// run appends toks chunk by chunk; with all != nil every row's logits go
// there, otherwise only the last token's into s.logits.
func (s *Session) run(toks []int32, all []float32) error {
	if len(toks) == 0 {
		return fmt.Errorf("prefill of an empty token list")
	}
	V := s.m.Config.VocabSize
	for i, t := range toks {
		if t < 0 || int(t) >= V {
			return fmt.Errorf("token %d at index %d is outside the vocabulary [0, %d)", t, i, V)
		}
	}
	for done := 0; done < len(toks); {
		n := min(len(toks)-done, s.chunk, max(1, s.cache.free()))
		first := n - 1 // logits of the chunk's last row only
		if all != nil {
			first = 0
		} else if done+n < len(toks) {
			first = n
		}
		s.forward(toks[done:done+n], first)
		if all != nil {
			copy(all[done*V:(done+n)*V], s.logits[:n*V])
		}
		done += n
	}
	return nil
}

// forward runs T = len(toks) rows (all fitting in the cache without
// evicting a visible key) and writes the logits of rows first..T−1 into
// s.logits [T−first, V].
func (s *Session) forward(toks []int32, first int) {
	m := s.m
	T := len(toks)
	s.cache.reserve(T)
	if len(s.scores) < m.H*s.cache.capacity {
		s.scores = make([]float32, m.H*s.cache.capacity)
	}
	s.embed(&s.a, toks)
	s.rowRopes(T)
	s.layers(&s.a, T, func(l int) { s.attention(l, T) })
	s.cache.seen += T
	if n := T - first; n > 0 {
		s.engine.logits(&s.a, first, n, s.logits)
	}
}

// rowRopes fills s.a.rot for the next T rows: cos/sin of stream position t
// and of cache position qp.
func (s *Session) rowRopes(T int) {
	s.ropes(&s.a, T, func(r int) (int, int) {
		t := s.cache.seen + r
		return t, s.cache.queryPos(t)
	})
}

// attention writes the keys and values of the T rows (stream positions
// seen..seen+T−1) into layer l's cache, then computes every row's attention
// output into s.a.att, the heads spread over the session's goroutines.
func (s *Session) attention(l, T int) {
	m, c := s.m, s.cache
	hd, capacity := m.hd, c.capacity
	keys, vals := c.keys[l], c.values[l]
	for r := range T {
		slot := c.slot(c.seen + r)
		for g := range m.KV {
			o := (g*capacity + slot) * hd
			s.key(&s.a, r, g, keys[o:o+hd], vals[o:o+hd])
		}
	}
	s.queries(&s.a, T)
	if s.OnAttention != nil || s.workers < 2 || T*m.H*min(c.seen+T, c.capacity)*hd < 1<<16 {
		s.heads(l, T, 0, m.H)
		return
	}
	parallel(s.workers, m.H, func(lo, hi int) { s.heads(l, T, lo, hi) })
}

// heads computes the attention of query heads [lo, hi) for the T rows.
func (s *Session) heads(l, T, lo, hi int) {
	m, c, cfg := s.m, s.cache, s.m.Config
	hd, capacity, Q := m.hd, c.capacity, m.H*m.hd
	keys, vals := c.keys[l], c.values[l]
	lw := &m.layers[l]
	group := m.H / m.KV
	rope := m.f.Positions == model.RoPE
	hasExtra := cfg.Attention == sinktoken.Softmax1 || cfg.Attention == sinktoken.SinkLogit
	var seg [3][2]int
	for r := range T {
		t := c.seen + r
		nseg := c.segments(&seg, t)
		qp := c.queryPos(t)
		for h := lo; h < hi; h++ {
			g := h / group
			hk := keys[g*capacity*hd : (g+1)*capacity*hd]
			hv := vals[g*capacity*hd : (g+1)*capacity*hd]
			sc := s.scores[h*capacity : (h+1)*capacity]
			// sc[i] = scale · q·k_i, i over the visible keys in cache order.
			n := 0
			for j := range nseg {
				a, b := seg[j][0], seg[j][1]
				qv := s.a.qWin[r*Q+h*hd : r*Q+(h+1)*hd]
				if rope && qp != t && c.isSinkSlot(a) {
					qv = s.a.qSink[r*Q+h*hd : r*Q+(h+1)*hd]
				}
				gemm.Sgemv(false, b-a, hd, m.scale, hk[a*hd:], hd, qv, 0, sc[n:n+b-a])
				n += b - a
			}
			if m.slopes != nil {
				addALiBi(sc[:n], m.slopes[h], 0, qp, m.f.Positions == model.ALiBiBloom, m.scale)
			}
			if lw.sliding {
				maskSliding(sc[:n], qp, cfg.SlidingWindow)
			}
			var extra float32
			if lw.sinkLogit != nil {
				extra = lw.sinkLogit[h]
			}
			kernels.SoftmaxRow(sc[:n], extra, hasExtra)
			if s.OnAttention != nil {
				s.OnAttention(l, h, t, sc[:n])
			}
			out := s.a.att[r*Q+h*hd : r*Q+(h+1)*hd]
			clear(out)
			n = 0
			for j := range nseg {
				a, b := seg[j][0], seg[j][1]
				gemm.Sgemv(true, b-a, hd, 1, hv[a*hd:], hd, sc[n:n+b-a], 1, out)
				n += b - a
			}
		}
	}
}
