package infer

import (
	"fmt"
	"runtime"

	"github.com/sinktrain/sinktrain/internal/gemm"
	"github.com/sinktrain/sinktrain/internal/kernels"
	"github.com/sinktrain/sinktrain/model"
	"github.com/sinktrain/sinktrain/sinktoken"
)

// DefaultChunk is the number of rows a Session keeps activation buffers
// for: a Prefill of up to DefaultChunk tokens (and every Step) runs in them.
const DefaultChunk = 64

// PrefillChunk is the most prompt tokens a Prefill runs as one
// matrix-matrix pass. A longer Prefill allocates buffers for up to
// PrefillChunk rows for its duration: every weight matrix is then read once
// per 512 prompt tokens instead of once per 64 (a Pythia-160M-shaped
// prompt of 512 tokens reads 0.5 GB of weights instead of 4 GB).
const PrefillChunk = 512

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
	most   int               // rows of one pass at most (PrefillChunk; tests set less)
	a      acts              // [T, ·] activations: DefaultChunk rows, a recompute:W session's window (≤ PrefillChunk); larger during a long Prefill
	scores []float32         // [H, capacity] one attention row per head
	attn   kernels.Attention // attendPool's job (held here: a step allocates nothing)
	logits []float32         // [V] the last row's logits
	hj     headsJob
	block  [][]float32 // per goroutine: a block of attention scores (headsBlocked)

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
	if spec.Kind == Recompute { // every step re-encodes a window: buffers for one pass of it
		hint, T = spec.Window, max(T, min(spec.Window, PrefillChunk))
	}
	s := &Session{
		engine: newEngine(m, workers), cache: NewCache(spec, c.NumLayers, m.KV, m.hd, hint), most: PrefillChunk,
		a: newActs(m, T), logits: make([]float32, c.VocabSize),
	}
	s.scores = make([]float32, m.H*s.cache.capacity)
	s.block = make([][]float32, s.team.size)
	stopTeamWhenCollected(s, s.team)
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

// Prefill appends tokens, in matrix-matrix chunks of up to PrefillChunk rows
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
	rows := min(len(s.a.x)/s.m.Config.HiddenSize, s.most)
	if n := min(len(toks), s.most, max(1, s.cache.free())); n > rows {
		small, big := s.a, s.m.passActs(n)
		s.a, rows = *big, n
		defer func() { s.a = small; s.m.passes.Put(big) }()
	}
	for done := 0; done < len(toks); {
		n := min(len(toks)-done, rows, max(1, s.cache.free()))
		first, dst := n-1, s.logits // logits of the chunk's last row only
		if all != nil {
			first, dst = 0, all[done*V:(done+n)*V]
		} else if done+n < len(toks) {
			first = n
		}
		s.forward(toks[done:done+n], first, dst)
		done += n
	}
	return nil
}

// forward runs T = len(toks) rows (all fitting in the cache without
// evicting a visible key) and writes the logits of rows first..T−1 into
// dst [T−first, V].
func (s *Session) forward(toks []int32, first int, dst []float32) {
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
		s.engine.logits(&s.a, first, n, dst)
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
	if p := s.team.gemvPool(); p != nil && T == 1 && s.OnAttention == nil && m.slopes == nil && !m.layers[l].sliding {
		s.attendPool(p, l)
		return
	}
	s.hj = headsJob{s: s, l: l, T: T}
	if work := T * m.H * min(c.seen+T, c.capacity) * hd; s.OnAttention == nil && work >= 1<<16 {
		s.team.split(m.H, 1, work, &s.hj)
		return
	}
	s.hj.run(0, 0, m.H)
}

// attendPool is a decoding step's attention of layer l on the team's C
// pool: what heads computes, in C, so that no goroutine is woken. (On 2
// cores of a shared EPYC, waking the team's goroutines for SmolLM-135M's 9
// heads cost more than splitting them saved; on the 16-core Xeon, keeping
// them on one goroutine cost more than waking.)
func (s *Session) attendPool(p *kernels.Pool, l int) {
	m, c := s.m, s.cache
	t := c.seen
	a := &s.attn
	keys, vals, lw, _, rope, hasExtra := s.layerAttention(l)
	*a = kernels.Attention{Q: s.a.qWin[:m.H*m.hd], K: keys, V: vals, Extra: lw.sinkLogit, Scores: s.scores, Out: s.a.att[:m.H*m.hd],
		H: m.H, KV: m.KV, HeadDim: m.hd, Cap: c.capacity, Scale: m.scale, HasExtra: hasExtra}
	a.NSeg = c.segments(&a.Segs, t)
	if rope && c.queryPos(t) != t {
		a.QSink = s.a.qSink[:m.H*m.hd]
		for j := range a.NSeg {
			a.SinkSeg[j] = c.isSinkSlot(a.Segs[j][0])
		}
	}
	p.Attend(a)
}

// headsJob is attention's split: query heads [lo, hi) of layer l, row by
// row (Step, and every row seen by OnAttention) or in blocks of rows.
type headsJob struct {
	s    *Session
	l, T int
}

func (j *headsJob) run(wk, lo, hi int) {
	if j.T > 1 && j.s.OnAttention == nil {
		j.s.headsBlocked(wk, j.l, j.T, lo, hi)
		return
	}
	j.s.heads(j.l, j.T, lo, hi)
}

// blockFloats bounds one goroutine's block of attention scores (rows ×
// visible keys, 256 KiB): the block stays in the core's L2 cache.
const blockFloats = 1 << 16

// headsBlocked is heads for a pass of T > 1 rows with matrix products. No
// key is evicted within a pass (Session.run stops a pass before that) and
// the rows' own keys are the newest in cache order, so row r sees the first
// n − (T−1−r) of the n keys the pass's last row sees: one product per
// segment of those keys gives a block of rows' scores, and the columns a
// row must not see are left out of its softmax and zeroed. Sink keys are
// scored with the queries rotated by their cache position (qSink), which
// equals qWin while the cache holds the stream from position 0.
func (s *Session) headsBlocked(wk, l, T, lo, hi int) {
	m, c, cfg := s.m, s.cache, s.m.Config
	hd, capacity, Q := m.hd, c.capacity, m.H*m.hd
	keys, vals, lw, group, rope, hasExtra := s.layerAttention(l)
	var seg [3][2]int
	nseg := c.segments(&seg, c.seen+T-1)
	n := 0
	for j := range nseg {
		n += seg[j][1] - seg[j][0]
	}
	rows := max(1, min(T, blockFloats/n))
	if len(s.block[wk]) < rows*n {
		s.block[wk] = make([]float32, rows*n)
	}
	for h := lo; h < hi; h++ {
		g := h / group
		hk := keys[g*capacity*hd : (g+1)*capacity*hd]
		hv := vals[g*capacity*hd : (g+1)*capacity*hd]
		var extra float32
		if lw.sinkLogit != nil {
			extra = lw.sinkLogit[h]
		}
		for r0 := 0; r0 < T; r0 += rows {
			nb := min(rows, T-r0)
			S := s.block[wk][:nb*n]
			col := 0
			for j := range nseg {
				a, b := seg[j][0], seg[j][1]
				q := s.a.qWin[r0*Q+h*hd:]
				if rope && c.isSinkSlot(a) {
					q = s.a.qSink[r0*Q+h*hd:]
				}
				gemm.Sgemm(false, true, nb, b-a, hd, m.scale, q, Q, hk[a*hd:], hd, 0, S[col:], n)
				col += b - a
			}
			for r := r0; r < r0+nb; r++ {
				row := S[(r-r0)*n : (r-r0+1)*n]
				sees := n - (T - 1 - r)
				qp := c.queryPos(c.seen + r)
				if m.slopes != nil {
					addALiBi(row[:sees], m.slopes[h], 0, qp, m.f.Positions == model.ALiBiBloom, m.scale)
				}
				if lw.sliding {
					maskSliding(row[:sees], qp, cfg.SlidingWindow)
				}
				kernels.SoftmaxRow(row[:sees], extra, hasExtra)
				clear(row[sees:])
			}
			col = 0
			for j := range nseg {
				a, b := seg[j][0], seg[j][1]
				beta := float32(1)
				if j == 0 {
					beta = 0
				}
				gemm.Sgemm(false, false, nb, hd, b-a, 1, S[col:], n, hv[a*hd:], hd, beta, s.a.att[r0*Q+h*hd:], Q)
				col += b - a
			}
		}
	}
}

// layerAttention returns what both attention paths read of layer l: its
// cached keys and values, its weights, the query heads per kv head, and
// whether the model uses RoPE and an attention variant with an extra term.
func (s *Session) layerAttention(l int) (keys, vals []float32, lw *layerWeights, group int, rope, hasExtra bool) {
	m, a := s.m, s.m.Config.Attention
	return s.cache.keys[l], s.cache.values[l], &m.layers[l], m.H / m.KV, m.f.Positions == model.RoPE,
		a == sinktoken.Softmax1 || a == sinktoken.SinkLogit
}

// heads computes the attention of query heads [lo, hi) for the T rows, a
// kv head's query heads at a time: each of its cached keys and values is
// read once for all of them (kernels.AttnScores, kernels.AttnValues).
func (s *Session) heads(l, T, lo, hi int) {
	m, c, cfg := s.m, s.cache, s.m.Config
	hd, capacity, Q := m.hd, c.capacity, m.H*m.hd
	keys, vals, lw, group, rope, hasExtra := s.layerAttention(l)
	var seg [3][2]int
	for r := range T {
		t := c.seen + r
		nseg := c.segments(&seg, t)
		qp := c.queryPos(t)
		for h0 := lo; h0 < hi; {
			g := h0 / group
			h1 := min(hi, (g+1)*group) // query heads [h0, h1) share kv head g
			nh := h1 - h0
			hk := keys[g*capacity*hd : (g+1)*capacity*hd]
			hv := vals[g*capacity*hd : (g+1)*capacity*hd]
			sc := s.scores[h0*capacity : h1*capacity]
			// sc[h][i] = scale · q_h·k_i, i over the visible keys in cache order.
			n := 0
			for j := range nseg {
				a, b := seg[j][0], seg[j][1]
				qv := s.a.qWin[r*Q+h0*hd : r*Q+h1*hd]
				if rope && qp != t && c.isSinkSlot(a) {
					qv = s.a.qSink[r*Q+h0*hd : r*Q+h1*hd]
				}
				kernels.AttnScores(qv, nh, hd, hk[a*hd:b*hd], b-a, m.scale, sc[n:], capacity)
				n += b - a
			}
			for h := h0; h < h1; h++ {
				row := sc[(h-h0)*capacity : (h-h0)*capacity+n]
				if m.slopes != nil {
					addALiBi(row, m.slopes[h], 0, qp, m.f.Positions == model.ALiBiBloom, m.scale)
				}
				if lw.sliding {
					maskSliding(row, qp, cfg.SlidingWindow)
				}
				var extra float32
				if lw.sinkLogit != nil {
					extra = lw.sinkLogit[h]
				}
				kernels.SoftmaxRow(row, extra, hasExtra)
				if s.OnAttention != nil {
					s.OnAttention(l, h, t, row)
				}
			}
			out := s.a.att[r*Q+h0*hd : r*Q+h1*hd]
			clear(out)
			n = 0
			for j := range nseg {
				a, b := seg[j][0], seg[j][1]
				kernels.AttnValues(sc[n:], capacity, nh, hv[a*hd:b*hd], b-a, hd, out, hd)
				n += b - a
			}
			h0 = h1
		}
	}
}
