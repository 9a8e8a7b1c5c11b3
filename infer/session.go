package infer

import (
	"fmt"
	"math"
	"runtime"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

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
	m       *Model
	cache   *Cache
	blas    gonum.Implementation
	chunk   int // T: rows per matrix-matrix pass
	workers int // goroutines of a decoding step

	x      []float32 // [T, D] residual stream
	ln     []float32 // [T, D] attention norm output (also the MLP input of a shared parallel norm)
	qkv    []float32 // [T, (H+2KV)·hd] q, k, v of each row (Model.qOff/kOff/vOff)
	att    []float32 // [T, H·hd] attention output, heads concatenated
	proj   []float32 // [T, D] attention output projection
	ln2    []float32 // [T, D] MLP norm output
	up     []float32 // [T, F] GELU MLP hidden; [T, 2F] SwiGLU gate | up
	ff     []float32 // [T, F] SwiGLU hidden
	ffOut  []float32 // [T, D] MLP output
	qWin   []float32 // [T, H·hd] queries rotated by their stream position
	qSink  []float32 // [T, H·hd] queries rotated by their cache position (for sink keys)
	scores []float32 // [H, capacity] one attention row per head
	rot    rowRopes  // cos/sin of each row's positions
	logits []float32 // [T, V] (only rows asked for are computed)

	// OnAttention, when set, receives every attention row (see AttentionFunc);
	// the heads then run one after another.
	OnAttention AttentionFunc
}

// rowRopes holds, per row of a forward, cos and sin of its stream position
// t and of its cache position qp ([T, rot/2] each).
type rowRopes struct {
	cosT, sinT, cosQ, sinQ []float64
}

// NewSession returns a session with a cache for spec. For dense, hint is the
// expected stream length (the cache grows beyond it). Recompute specs get a
// dense cache; the caller re-encodes windows (see Score).
func (m *Model) NewSession(spec CacheSpec, hint int) *Session {
	c := m.Config
	D, F, V, T := c.HiddenSize, c.IntermediateSize, c.VocabSize, DefaultChunk
	if spec.Kind == Recompute {
		hint = spec.Window
	}
	upRows := F
	if m.f.MLP == model.SwiGLUMLP {
		upRows = 2 * F
	}
	half := len(m.invFreq)
	Q := m.H * m.hd
	s := &Session{
		m: m, cache: NewCache(spec, c.NumLayers, m.KV, m.hd, hint), chunk: T, workers: runtime.GOMAXPROCS(0),
		x: make([]float32, T*D), ln: make([]float32, T*D), qkv: make([]float32, T*m.qkvRows),
		att: make([]float32, T*Q), proj: make([]float32, T*D), ln2: make([]float32, T*D),
		up: make([]float32, T*upRows), ffOut: make([]float32, T*D),
		qWin: make([]float32, T*Q), qSink: make([]float32, T*Q),
		rot: rowRopes{cosT: make([]float64, T*half), sinT: make([]float64, T*half),
			cosQ: make([]float64, T*half), sinQ: make([]float64, T*half)},
		logits: make([]float32, T*V),
	}
	if m.f.MLP == model.SwiGLUMLP {
		s.ff = make([]float32, T*F)
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
	m, cfg := s.m, s.m.Config
	D, F := cfg.HiddenSize, cfg.IntermediateSize
	T := len(toks)
	s.cache.reserve(T)
	if len(s.scores) < m.H*s.cache.capacity {
		s.scores = make([]float32, m.H*s.cache.capacity)
	}
	for r, t := range toks {
		copy(s.x[r*D:(r+1)*D], m.embed[int(t)*D:(int(t)+1)*D])
	}
	if m.f.Positions == model.RoPE {
		s.rowRopes(T)
	}
	x, ln, ln2 := s.x[:T*D], s.ln[:T*D], s.ln2[:T*D]
	for l := range m.layers {
		lw := &m.layers[l]
		s.norm(x, lw.attnNormW, lw.attnNormB, ln)
		for _, p := range lw.qkv {
			s.project(s.qkv, m.qkvRows, ln, T, D, p)
		}
		s.prepareQKV(lw, T)
		s.attention(l, T)
		s.linear(s.proj, D, s.att, T, m.H*m.hd, lw.outW, lw.outB, D)
		mlpIn := ln
		switch {
		case m.f.SharedNorm: // x + attn(n(x)) + mlp(n(x))
			add(x, s.proj[:T*D])
		case cfg.ParallelResidual: // x + attn(n1(x)) + mlp(n2(x))
			s.norm(x, lw.ffnNormW, lw.ffnNormB, ln2)
			add(x, s.proj[:T*D])
			mlpIn = ln2
		default:
			add(x, s.proj[:T*D])
			s.norm(x, lw.ffnNormW, lw.ffnNormB, ln2)
			mlpIn = ln2
		}
		hidden := s.up[:T*F]
		if m.f.MLP == model.SwiGLUMLP {
			for _, p := range lw.up {
				s.project(s.up, 2*F, mlpIn, T, D, p)
			}
			hidden = s.ff[:T*F]
			kernels.SwiGLU(s.up[:T*2*F], hidden, F)
		} else {
			s.project(s.up, F, mlpIn, T, D, lw.up[0])
			kernels.GELU(hidden, hidden, nil)
		}
		s.linear(s.ffOut, D, hidden, T, F, lw.downW, lw.downB, D)
		add(x, s.ffOut[:T*D])
	}
	s.cache.seen += T
	if n := T - first; n > 0 {
		s.norm(x[first*D:], m.normW, m.normB, ln[:n*D])
		s.linear(s.logits, cfg.VocabSize, ln, n, D, m.head, nil, cfg.VocabSize)
	}
}

// norm applies the model's norm (LayerNorm, or RMSNorm when b is unused)
// to every row of x into y.
func (s *Session) norm(x, w, b, y []float32) {
	D := s.m.Config.HiddenSize
	if s.m.f.Norm == model.RMSNorm {
		kernels.RMSNorm(x, w, y[:len(x)], D, s.m.Config.LayerNormEps)
		return
	}
	kernels.LayerNorm(x, w, b, y[:len(x)], D, s.m.Config.LayerNormEps)
}

// prepareQKV applies clip_qkv and qk_ln to the T rows of s.qkv.
func (s *Session) prepareQKV(lw *layerWeights, T int) {
	m, cfg := s.m, s.m.Config
	rows := s.qkv[:T*m.qkvRows]
	if c := float32(cfg.ClipQKV); c > 0 {
		for i, v := range rows {
			rows[i] = min(c, max(-c, v))
		}
	}
	if lw.qNormW != nil {
		Q, K := m.H*m.hd, m.KV*m.hd
		for r := range T {
			row := rows[r*m.qkvRows:]
			kernels.LayerNorm(row[:Q], lw.qNormW, lw.qNormB, row[:Q], Q, cfg.LayerNormEps)
			kernels.LayerNorm(row[Q:Q+K], lw.kNormW, lw.kNormB, row[Q:Q+K], K, cfg.LayerNormEps)
		}
	}
}

// rowRopes fills s.rot for the next T rows: cos/sin of stream position t
// and of cache position qp.
func (s *Session) rowRopes(T int) {
	half := len(s.m.invFreq)
	for r := range T {
		t := s.cache.seen + r
		lo, hi := r*half, (r+1)*half
		ropeAt(s.m.invFreq, t, s.rot.cosT[lo:hi], s.rot.sinT[lo:hi])
		ropeAt(s.m.invFreq, s.cache.queryPos(t), s.rot.cosQ[lo:hi], s.rot.sinQ[lo:hi])
	}
}

// ropeAt fills cos/sin [rot/2] with the angles p·inv_freq (in float64: a
// stream position of millions keeps its precision).
func ropeAt(invFreq []float64, p int, cos, sin []float64) {
	for i, f := range invFreq {
		sin[i], cos[i] = math.Sincos(float64(p) * f)
	}
}

// attention writes the keys and values of the T rows (stream positions
// seen..seen+T−1) into layer l's cache, then computes every row's attention
// output into s.att, the heads spread over the session's goroutines.
func (s *Session) attention(l, T int) {
	m, c := s.m, s.cache
	hd, capacity, half := m.hd, c.capacity, len(m.invFreq)
	rope := m.f.Positions == model.RoPE
	keys, vals := c.keys[l], c.values[l]
	Q := m.H * hd
	for r := range T {
		t := c.seen + r
		slot := c.slot(t)
		row := s.qkv[r*m.qkvRows : (r+1)*m.qkvRows]
		for g := range m.KV {
			k := keys[(g*capacity+slot)*hd : (g*capacity+slot+1)*hd]
			copy(k, row[m.kOff[g]:m.kOff[g]+hd])
			if rope {
				rotate(k, s.rot.cosT[r*half:(r+1)*half], s.rot.sinT[r*half:(r+1)*half])
			}
			copy(vals[(g*capacity+slot)*hd:(g*capacity+slot+1)*hd], row[m.vOff[g]:m.vOff[g]+hd])
		}
		for h := range m.H {
			q := s.qWin[r*Q+h*hd : r*Q+(h+1)*hd]
			copy(q, row[m.qOff[h]:m.qOff[h]+hd])
			if rope {
				qs := s.qSink[r*Q+h*hd : r*Q+(h+1)*hd]
				copy(qs, q)
				rotate(q, s.rot.cosT[r*half:(r+1)*half], s.rot.sinT[r*half:(r+1)*half])
				rotate(qs, s.rot.cosQ[r*half:(r+1)*half], s.rot.sinQ[r*half:(r+1)*half])
			}
		}
	}
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
				qv := s.qWin[r*Q+h*hd : r*Q+(h+1)*hd]
				if rope && qp != t && c.isSinkSlot(a) {
					qv = s.qSink[r*Q+h*hd : r*Q+(h+1)*hd]
				}
				s.blas.Sgemv(blas.NoTrans, b-a, hd, m.scale, hk[a*hd:], hd, qv, 1, 0, sc[n:], 1)
				n += b - a
			}
			if m.slopes != nil {
				addALiBi(sc[:n], m.slopes[h], qp, m.f.Positions == model.ALiBiBloom, m.scale)
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
			out := s.att[r*Q+h*hd : r*Q+(h+1)*hd]
			clear(out)
			n = 0
			for j := range nseg {
				a, b := seg[j][0], seg[j][1]
				s.blas.Sgemv(blas.Trans, b-a, hd, 1, hv[a*hd:], hd, sc[n:], 1, 1, out, 1)
				n += b - a
			}
		}
	}
}

// rotate applies NeoX rotate_half RoPE (dim i paired with i+rot/2) with
// cos/sin [rot/2] to the first rot dims of v.
func rotate(v []float32, cos, sin []float64) {
	half := len(cos)
	for i := range half {
		c, sn := cos[i], sin[i]
		a, b := float64(v[i]), float64(v[i+half])
		v[i] = float32(a*c - b*sn)
		v[i+half] = float32(b*c + a*sn)
	}
}

// project computes rows [p.off, p.off+p.rows) of y [T, ldy] from x [T, in]:
// y = x · p.wᵀ + p.b.
func (s *Session) project(y []float32, ldy int, x []float32, T, in int, p projection) {
	s.linear(y[p.off:], ldy, x, T, in, p.w, p.b, p.rows)
}

// linear computes y[T, out] (rows ldy apart) = x[T, in] · wᵀ + bias with w
// [out, in]. One row (decoding) is a matrix-vector product split by output
// rows over the session's goroutines; more rows are one matrix product
// (gonum's, itself parallel).
func (s *Session) linear(y []float32, ldy int, x []float32, T, in int, w, bias []float32, out int) {
	beta := float32(0)
	if bias != nil {
		for r := range T {
			copy(y[r*ldy:r*ldy+out], bias)
		}
		beta = 1
	}
	if T > 1 {
		s.blas.Sgemm(blas.NoTrans, blas.Trans, T, out, in, 1, x, in, w, in, beta, y, ldy)
		return
	}
	gemv := func(lo, hi int) {
		s.blas.Sgemv(blas.NoTrans, hi-lo, in, 1, w[lo*in:], in, x, 1, beta, y[lo:hi], 1)
	}
	if s.workers < 2 || out*in < 1<<16 {
		gemv(0, out)
		return
	}
	parallel(s.workers, out, gemv)
}

// add sets x += y.
func add(x, y []float32) {
	for i, v := range y {
		x[i] += v
	}
}
