package infer

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/sinktrain/sinktrain/internal/kernels"
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
// grows by doubling). A Session is not safe for concurrent use.
type Session struct {
	m     *Model
	cache *Cache
	blas  gonum.Implementation
	chunk int // T: rows per matrix-matrix pass

	x      []float32 // [T, D] residual stream
	ln     []float32 // [T, D] layer-norm output
	qkv    []float32 // [T, 3D] fused projections, per head q, k, v
	att    []float32 // [T, D] attention output, heads concatenated
	proj   []float32 // [T, D] attention dense output
	ln2    []float32 // [T, D] second layer norm (parallel residual)
	ff     []float32 // [T, F] MLP hidden
	ffOut  []float32 // [T, D] MLP output
	qWin   []float32 // [H, hd] one row's queries rotated by their stream position
	qSink  []float32 // [H, hd] one row's queries rotated by their cache position
	scores []float32 // [capacity] one attention row
	cos    []float64 // [rot/2] scratch
	sin    []float64 // [rot/2]
	logits []float32 // [T, V] (only rows asked for are computed)

	// OnAttention, when set, receives every attention row (see AttentionFunc).
	OnAttention AttentionFunc
}

// NewSession returns a session with a cache for spec. For dense, hint is the
// expected stream length (the cache grows beyond it). Recompute specs get a
// dense cache; the caller re-encodes windows (see EvalStream).
func (m *Model) NewSession(spec CacheSpec, hint int) *Session {
	c := m.Config
	D, F, V, hd, T := c.HiddenSize, c.IntermediateSize, c.VocabSize, c.HeadDim(), DefaultChunk
	if spec.Kind == Recompute {
		hint = spec.Window
	}
	s := &Session{
		m: m, cache: NewCache(spec, c.NumLayers, c.NumHeads, hd, hint), chunk: T,
		x: make([]float32, T*D), ln: make([]float32, T*D), qkv: make([]float32, T*3*D),
		att: make([]float32, T*D), proj: make([]float32, T*D), ln2: make([]float32, T*D),
		ff: make([]float32, T*F), ffOut: make([]float32, T*D),
		qWin: make([]float32, D), qSink: make([]float32, D),
		cos: make([]float64, len(m.invFreq)), sin: make([]float64, len(m.invFreq)),
		logits: make([]float32, T*V),
	}
	s.scores = make([]float32, s.cache.capacity)
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
		return fmt.Errorf("infer: logits buffer has %d values, expected %d", len(dst), len(toks)*V)
	}
	return s.run(toks, dst)
}

// run appends toks chunk by chunk; with all != nil every row's logits go
// there, otherwise only the last token's into s.logits.
func (s *Session) run(toks []int32, all []float32) error {
	if len(toks) == 0 {
		return fmt.Errorf("infer: prefill of an empty token list")
	}
	V := s.m.Config.VocabSize
	for i, t := range toks {
		if t < 0 || int(t) >= V {
			return fmt.Errorf("infer: token %d at index %d is outside the vocabulary [0, %d)", t, i, V)
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
	cfg := s.m.Config
	D, F := cfg.HiddenSize, cfg.IntermediateSize
	T := len(toks)
	s.cache.reserve(T)
	if len(s.scores) < s.cache.capacity {
		s.scores = make([]float32, s.cache.capacity)
	}
	for r, t := range toks {
		copy(s.x[r*D:(r+1)*D], s.m.embedIn[int(t)*D:(int(t)+1)*D])
	}
	x := s.x[:T*D]
	for l := range s.m.layers {
		lw := &s.m.layers[l]
		kernels.LayerNorm(x, lw.ln1W, lw.ln1B, s.ln[:T*D], D, cfg.LayerNormEps)
		s.linear(s.qkv[:T*3*D], s.ln[:T*D], T, lw.qkvW, lw.qkvB, 3*D, D)
		s.attention(l, T)
		s.linear(s.proj[:T*D], s.att[:T*D], T, lw.denseW, lw.denseB, D, D)
		mlpIn := s.ln2[:T*D]
		if cfg.ParallelResidual {
			kernels.LayerNorm(x, lw.ln2W, lw.ln2B, mlpIn, D, cfg.LayerNormEps)
			add(x, s.proj[:T*D])
		} else {
			add(x, s.proj[:T*D])
			kernels.LayerNorm(x, lw.ln2W, lw.ln2B, mlpIn, D, cfg.LayerNormEps)
		}
		s.linear(s.ff[:T*F], mlpIn, T, lw.fc1W, lw.fc1B, F, D)
		kernels.GELU(s.ff[:T*F], s.ff[:T*F], nil)
		s.linear(s.ffOut[:T*D], s.ff[:T*F], T, lw.fc2W, lw.fc2B, D, F)
		add(x, s.ffOut[:T*D])
	}
	s.cache.seen += T
	if n := T - first; n > 0 {
		kernels.LayerNorm(x[first*D:], s.m.normW, s.m.normB, s.ln[:n*D], D, cfg.LayerNormEps)
		s.linear(s.logits[:n*cfg.VocabSize], s.ln[:n*D], n, s.m.embOut, nil, cfg.VocabSize, D)
	}
}

// attention writes the keys and values of the T rows (stream positions
// seen..seen+T−1) into layer l's cache, then computes every row's attention
// output into s.att.
func (s *Session) attention(l, T int) {
	cfg := s.m.Config
	c := s.cache
	H, hd, D := cfg.NumHeads, cfg.HeadDim(), cfg.HiddenSize
	capacity := c.capacity
	keys, vals := c.keys[l], c.values[l]
	for r := range T {
		t := c.seen + r
		s.rope(t)
		slot := c.slot(t)
		for h := range H {
			src := s.qkv[r*3*D+h*3*hd:]
			k := keys[(h*capacity+slot)*hd : (h*capacity+slot+1)*hd]
			copy(k, src[hd:2*hd])
			s.rotate(k)
			copy(vals[(h*capacity+slot)*hd:(h*capacity+slot+1)*hd], src[2*hd:3*hd])
		}
	}
	var seg [3][2]int
	lw := &s.m.layers[l]
	for r := range T {
		t := c.seen + r
		nseg := c.segments(&seg, t)
		qp := c.queryPos(t)
		s.rotateQueries(s.qWin, r, t)
		if qp != t {
			s.rotateQueries(s.qSink, r, qp)
		}
		for h := range H {
			hk := keys[h*capacity*hd : (h+1)*capacity*hd]
			hv := vals[h*capacity*hd : (h+1)*capacity*hd]
			// scores[i] = q·k_i / sqrt(hd), i over the visible keys in cache order.
			n := 0
			for g := range nseg {
				a, b := seg[g][0], seg[g][1]
				qv := s.qWin[h*hd : (h+1)*hd]
				if qp != t && c.isSinkSlot(a) {
					qv = s.qSink[h*hd : (h+1)*hd]
				}
				s.blas.Sgemv(blas.NoTrans, b-a, hd, s.m.scale, hk[a*hd:], hd, qv, 1, 0, s.scores[n:], 1)
				n += b - a
			}
			extra, hasExtra := float32(0), cfg.Attention == sinktoken.Softmax1 || cfg.Attention == sinktoken.SinkLogit
			if lw.sinkLogit != nil {
				extra = lw.sinkLogit[h]
			}
			kernels.SoftmaxRow(s.scores[:n], extra, hasExtra)
			if s.OnAttention != nil {
				s.OnAttention(l, h, t, s.scores[:n])
			}
			out := s.att[r*D+h*hd : r*D+(h+1)*hd]
			clear(out)
			n = 0
			for g := range nseg {
				a, b := seg[g][0], seg[g][1]
				s.blas.Sgemv(blas.Trans, b-a, hd, 1, hv[a*hd:], hd, s.scores[n:], 1, 1, out, 1)
				n += b - a
			}
		}
	}
}

// rotateQueries copies row r's queries of every head into dst [H, hd] and
// rotates them by position p.
func (s *Session) rotateQueries(dst []float32, r, p int) {
	cfg := s.m.Config
	H, hd, D := cfg.NumHeads, cfg.HeadDim(), cfg.HiddenSize
	s.rope(p)
	for h := range H {
		q := dst[h*hd : (h+1)*hd]
		copy(q, s.qkv[r*3*D+h*3*hd:r*3*D+h*3*hd+hd])
		s.rotate(q)
	}
}

// rope fills s.cos/s.sin for position p.
func (s *Session) rope(p int) {
	for i, f := range s.m.invFreq {
		s.sin[i], s.cos[i] = math.Sincos(float64(p) * f)
	}
}

// rotate applies NeoX rotate_half RoPE (dim i paired with i+rot/2) with the
// current s.cos/s.sin to the first rot dims of v.
func (s *Session) rotate(v []float32) {
	half := len(s.cos)
	for i := range half {
		c, sn := s.cos[i], s.sin[i]
		a, b := float64(v[i]), float64(v[i+half])
		v[i] = float32(a*c - b*sn)
		v[i+half] = float32(b*c + a*sn)
	}
}

// linear computes y[T, out] = x[T, in] · wᵀ + bias with w [out, in].
func (s *Session) linear(y, x []float32, T int, w, bias []float32, out, in int) {
	if T == 1 {
		if bias != nil {
			copy(y, bias)
		}
		beta := float32(0)
		if bias != nil {
			beta = 1
		}
		s.blas.Sgemv(blas.NoTrans, out, in, 1, w, in, x, 1, beta, y, 1)
		return
	}
	beta := float32(0)
	if bias != nil {
		for r := range T {
			copy(y[r*out:(r+1)*out], bias)
		}
		beta = 1
	}
	s.blas.Sgemm(blas.NoTrans, blas.Trans, T, out, in, 1, x, in, w, in, beta, y, out)
}

// add sets x += y.
func add(x, y []float32) {
	for i, v := range y {
		x[i] += v
	}
}
