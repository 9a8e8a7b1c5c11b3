package infer

import (
	"math"

	"github.com/sinktrain/sinktrain/internal/gemm"
	"github.com/sinktrain/sinktrain/internal/kernels"
	"github.com/sinktrain/sinktrain/model"
	"github.com/sinktrain/sinktrain/sinktoken"
)

// Chunked exact scoring (DESIGN.md §12). Under K+W the NLL of token i+1
// depends only on what token i's own cache held, and each layer's keys and
// values come from that layer's input, so a chunk of C consecutive tokens
// runs layer by layer as matrix-matrix work: query i attends to the sinks
// (stream tokens 0..K−1, keys rotated by their position, which is their
// cache slot) and to the keys of tokens (i−W, i], kept rotated by their
// stream position; its sink scores use the query rotated by its cache
// position min(i, K+W−1), its window scores the query rotated by i — the
// rotation scheme of Session, so every score equals the one token-by-token
// decoding computes. Each layer keeps the keys and values of the last W−1
// tokens between chunks: memory is sized by C and K+W, never by the stream.
// dense is the same with every earlier key; recompute:W runs the fresh
// window of each token (positions 0..len−1) as one causal sequence, many
// windows batched into one pass, and scores only each window's last row.

// attnRows is the number of query rows of one attention block (one score
// matrix per head and block).
const attnRows = 64

// rowPlan says where one row of a chunked forward sits.
type rowPlan struct {
	tok   int32
	pos   int // position its key (and its window query) is rotated by
	qp    int // its cache position (sink keys' query rotation, ALiBi, sliding windows)
	key   int // buffer index of its own key and value
	lo    int // first buffer index of the window keys it sees: [lo, key] (lo = key+1: none)
	nsink int // sink keys it sees (0..nsink−1)
	seq   int // rows of one sequence share a key buffer range (a recompute window each)
}

// outRow is a row whose next-token logits are scored against target.
type outRow struct {
	row    int
	index  int // the target's index in the fed stream
	target int32
}

// scorer runs chunked forwards for one Score pass.
type scorer struct {
	engine
	spec     CacheSpec
	K, W     int // sinks kept and window (W = 0: unbounded, dense and recompute)
	R        int // rows per forward at most
	a        acts
	plan     []rowPlan   // [R]
	out      []outRow    // rows to score, in order
	blocks   [][2]int    // attention row blocks [r0, r1) of the current forward
	kbuf     [][]float32 // per layer [KV, kcap, hd] keys by buffer index (rotated by position)
	vbuf     [][]float32 // per layer [KV, kcap, hd] values
	kcap     int
	sinkK    [][]float32 // per layer [KV, K, hd] the sinks' keys (K+W only)
	sinkV    [][]float32 // per layer [KV, K, hd]
	bufStart int         // stream position of buffer index 0 (K+W and dense)
	scratch  [][]float32 // per worker: one block's scores [attnRows, K + columns]
	lcols    int         // vocabulary columns of one logits block
	logits   []float32   // [R, lcols]
	nll      []float64   // [R] per scored row
	lse      []lseRow    // [R] the rows' log-sum-exp over the vocabulary blocks so far
	bj       blocksJob
	nj       nllJob
}

// lseRow is one row's softmax denominator over the vocabulary blocks seen
// so far (sum of e^{z−max}) and its target's logit once seen.
type lseRow struct {
	max, sum, target float64
}

// scorerRows returns the rows of one forward and the key buffer slots per
// layer for spec with chunk size C over a stream of N tokens.
func scorerRows(spec CacheSpec, C, N int) (rows, kcap int) {
	C = max(1, min(C, N-1))
	switch spec.Kind {
	case SinkWindow:
		return C, spec.Window - 1 + C
	case Recompute:
		R := max(C, min(spec.Window, N-1))
		return R, R
	}
	return C, N
}

// logitCols is how many vocabulary columns one block of R rows' logits
// holds: the whole vocabulary when R·V ≤ 4M values, otherwise a multiple
// of 16 (the bfloat16 panels' rows) of at most 4M/R. The blocks go over
// the vocabulary, not the rows, so that the head — the largest matrix of
// a large-vocabulary model (Pythia-160M: 154 MB) — is read from memory
// once per forward, not once per 4M values of logits.
func logitCols(V, R int) int {
	if R*V <= 1<<22 {
		return V
	}
	return min(V, max(16, (1<<22)/R/16*16))
}

// scoreBytes estimates the buffers of a chunked Score pass (and of the
// token-by-token one, which a chunk of 1 bounds): activations, key/value
// buffers, score blocks and logits, in bytes.
func scoreBytes(m *Model, spec CacheSpec, C, N, workers int) float64 {
	R, kcap := scorerRows(spec, C, N)
	c := m.Config
	kv := 2 * c.NumLayers * m.KV * m.hd * (kcap + spec.Sinks)
	cols := spec.Sinks + attnRows + kcap
	floats := actsFloats(m, R) + kv + workers*attnRows*cols + R*logitCols(c.VocabSize, R) + 14*R
	if m.dtype == bf16Storage {
		floats += workers * roundRows * kernels.PairCols(m.widest) / 2
	}
	return 4 * float64(floats)
}

func newScorer(m *Model, spec CacheSpec, C, N, workers int) *scorer {
	R, kcap := scorerRows(spec, C, N)
	c := m.Config
	s := &scorer{engine: newEngine(m, workers), spec: spec, R: R, a: newActs(m, R), plan: make([]rowPlan, R), kcap: kcap}
	if spec.Kind == SinkWindow {
		s.K, s.W = spec.Sinks, spec.Window
	}
	if spec.Kind == Dense {
		s.kcap = min(kcap, max(4*C, 1024)) // grown on demand
	}
	s.kbuf, s.vbuf = make([][]float32, c.NumLayers), make([][]float32, c.NumLayers)
	s.sinkK, s.sinkV = make([][]float32, c.NumLayers), make([][]float32, c.NumLayers)
	for l := range c.NumLayers {
		s.kbuf[l], s.vbuf[l] = make([]float32, m.KV*s.kcap*m.hd), make([]float32, m.KV*s.kcap*m.hd)
		s.sinkK[l], s.sinkV[l] = make([]float32, m.KV*s.K*m.hd), make([]float32, m.KV*s.K*m.hd)
	}
	s.scratch = make([][]float32, s.team.size)
	s.lcols = logitCols(c.VocabSize, R)
	s.logits = make([]float32, R*s.lcols)
	s.nll, s.lse = make([]float64, R), make([]lseRow, R)
	stopTeamWhenCollected(s, s.team)
	return s
}

// growDense makes room in a dense scorer's key buffers for n slots.
func (s *scorer) growDense(n int) {
	if n <= s.kcap {
		return
	}
	hd, KV := s.m.hd, s.m.KV
	kcap := max(n, 2*s.kcap)
	for l := range s.kbuf {
		for _, b := range []*[]float32{&s.kbuf[l], &s.vbuf[l]} {
			nb := make([]float32, KV*kcap*hd)
			for g := range KV {
				copy(nb[g*kcap*hd:], (*b)[g*s.kcap*hd:(g+1)*s.kcap*hd])
			}
			*b = nb
		}
	}
	s.kcap = kcap
}

// planStream lays out the rows of stream tokens [t0, t0+len(toks)) under
// K+W or dense (one sequence; see rowPlan).
func (s *scorer) planStream(t0 int, toks []int32) {
	if s.spec.Kind == Dense {
		s.growDense(t0 + len(toks))
	}
	for r, tok := range toks {
		i := t0 + r
		p := rowPlan{tok: tok, pos: i, qp: i, key: i - s.bufStart}
		switch {
		case s.spec.Kind == Dense:
			p.lo = 0
		case i < s.K: // a sink: it sees the sinks up to itself, no window
			p.nsink, p.lo = i+1, p.key+1
		default:
			p.nsink = s.K
			p.lo = max(s.K, i-s.W+1) - s.bufStart
			p.qp = min(i, s.K+s.W-1)
		}
		s.plan[r] = p
	}
	s.planBlocks(len(toks))
}

// advance drops the keys no later query of a K+W pass sees after a chunk
// that ended at stream position end: the buffer keeps the last W−1.
func (s *scorer) advance(end int) {
	if s.spec.Kind != SinkWindow {
		return
	}
	start := max(0, end-(s.W-1))
	shift := start - s.bufStart
	if shift <= 0 {
		return
	}
	hd, n := s.m.hd, end-start
	for l := range s.kbuf {
		for _, b := range [][]float32{s.kbuf[l], s.vbuf[l]} {
			for g := range s.m.KV {
				o := g * s.kcap * hd
				copy(b[o:o+n*hd], b[o+shift*hd:o+(shift+n)*hd])
			}
		}
	}
	s.bufStart = start
}

// planBlocks splits the T planned rows into attention blocks of at most
// attnRows rows of one sequence.
func (s *scorer) planBlocks(T int) {
	s.blocks = s.blocks[:0]
	for r0 := 0; r0 < T; {
		r1 := r0 + 1
		for r1 < T && r1-r0 < attnRows && s.plan[r1].seq == s.plan[r0].seq {
			r1++
		}
		s.blocks = append(s.blocks, [2]int{r0, r1})
		r0 = r1
	}
}

// forward runs the T planned rows through every layer and sets s.nll[k]
// for each s.out[k].
func (s *scorer) forward(T int) {
	m := s.m
	D := m.Config.HiddenSize
	for r := range T {
		m.embed.row(int(s.plan[r].tok), s.a.x[r*D:(r+1)*D])
	}
	s.ropes(&s.a, T, func(r int) (int, int) { return s.plan[r].pos, s.plan[r].qp })
	s.layers(&s.a, T, func(l int) { s.attention(l, T) })
	// Score the out rows: gather them to the front, then logits in blocks.
	for k, o := range s.out {
		if o.row != k {
			copy(s.a.x[k*D:(k+1)*D], s.a.x[o.row*D:(o.row+1)*D])
		}
	}
	s.headNLL(len(s.out))
}

// headNLL sets s.nll[k] for the out rows k < n, their final hidden states
// in the first n rows of s.a.x: the final norm, the head and the
// cross-entropy against s.out[k].target, in blocks of vocabulary columns
// (one block when the rows' logits fit in one).
func (s *scorer) headNLL(n int) {
	m := s.m
	D, V := m.Config.HiddenSize, m.Config.VocabSize
	s.norm(s.a.x[:n*D], m.normW, m.normB, s.a.ln[:n*D])
	for v0 := 0; v0 < V; v0 += s.lcols {
		v1 := min(V, v0+s.lcols)
		s.linear(s.logits, v1-v0, s.a.ln, n, D, m.head.sub(v0, v1), nil, v1-v0)
		s.nj = nllJob{s: s, v0: v0, v1: v1}
		s.rows(n, &s.nj)
	}
}

// attention stores the T rows' keys and values of layer l, then computes
// every row's attention output, the (head, block) pairs spread over the
// scorer's goroutines.
func (s *scorer) attention(l, T int) {
	m := s.m
	hd := m.hd
	for r := range T {
		p := &s.plan[r]
		for g := range m.KV {
			o := (g*s.kcap + p.key) * hd
			k, v := s.kbuf[l][o:o+hd], s.vbuf[l][o:o+hd]
			s.key(&s.a, r, g, k, v)
			if p.pos < s.K {
				so := (g*s.K + p.pos) * hd
				copy(s.sinkK[l][so:so+hd], k)
				copy(s.sinkV[l][so:so+hd], v)
			}
		}
	}
	s.queries(&s.a, T)
	s.bj = blocksJob{s: s, l: l}
	s.team.split(m.H*len(s.blocks), 1, T*m.H*hd*(s.K+s.W+attnRows), &s.bj)
}

// blocksJob is attention's split: (head, block) pairs [lo, hi) of layer l,
// head-major within a block.
type blocksJob struct {
	s *scorer
	l int
}

func (j *blocksJob) run(wk, lo, hi int) {
	H := j.s.m.H
	for t := lo; t < hi; t++ {
		j.s.block(j.l, wk, t%H, j.s.blocks[t/H])
	}
}

// nllJob scores the out rows [lo, hi) on the logits of vocabulary columns
// [v0, v1): each row's log-sum-exp is merged into lse, and the last block
// sets the NLL (with one block, kernels.CrossEntropy's sum).
type nllJob struct {
	s      *scorer
	v0, v1 int
}

func (j *nllJob) run(_, lo, hi int) {
	s, n := j.s, j.v1-j.v0
	for r := lo; r < hi; r++ {
		z, t := s.logits[r*n:(r+1)*n], int(s.out[r].target)
		bm, bs := kernels.ExpRow(z, nil)
		e := &s.lse[r]
		switch {
		case j.v0 == 0:
			*e = lseRow{max: float64(bm), sum: bs}
		case float64(bm) > e.max:
			e.sum = e.sum*math.Exp(e.max-float64(bm)) + bs
			e.max = float64(bm)
		default:
			e.sum += bs * math.Exp(float64(bm)-e.max)
		}
		if t >= j.v0 && t < j.v1 {
			e.target = float64(z[t-j.v0])
		}
		if j.v1 == s.m.Config.VocabSize {
			s.nll[r] = e.max + math.Log(e.sum) - e.target
		}
	}
}

// block computes head h's attention for the rows [b[0], b[1]) of one
// sequence: scores against the sinks and the window columns the block
// spans (one matrix product each), ALiBi and sliding windows, the banded
// softmax of each row, and the products with the values.
func (s *scorer) block(l, wk, h int, b [2]int) {
	m, cfg := s.m, s.m.Config
	hd, Q := m.hd, m.H*m.hd
	r0, r1 := b[0], b[1]
	nb := r1 - r0
	first, last := &s.plan[r0], &s.plan[r1-1]
	c0 := first.lo
	ncols := max(0, last.key+1-c0)
	ns := last.nsink
	ld := ns + ncols
	if len(s.scratch[wk]) < nb*ld {
		s.scratch[wk] = make([]float32, attnRows*ld)
	}
	S := s.scratch[wk][:nb*ld]
	g := h / (m.H / m.KV)
	qw := s.a.qWin[r0*Q+h*hd:]
	if ns > 0 {
		qs := qw
		if m.f.Positions == model.RoPE {
			qs = s.a.qSink[r0*Q+h*hd:]
		}
		gemm.Sgemm(false, true, nb, ns, hd, m.scale, qs, Q, s.sinkK[l][g*s.K*hd:], hd, 0, S, ld)
	}
	if ncols > 0 {
		gemm.Sgemm(false, true, nb, ncols, hd, m.scale, qw, Q, s.kbuf[l][(g*s.kcap+c0)*hd:], hd, 0, S[ns:], ld)
	}
	lw := &m.layers[l]
	hasExtra := cfg.Attention == sinktoken.Softmax1 || cfg.Attention == sinktoken.SinkLogit
	var extra float32
	if lw.sinkLogit != nil {
		extra = lw.sinkLogit[h]
	}
	bloom := m.f.Positions == model.ALiBiBloom
	for r := r0; r < r1; r++ {
		p := &s.plan[r]
		row := S[(r-r0)*ld : (r-r0+1)*ld]
		lo, hi := ns+p.lo-c0, ns+p.key+1-c0 // the row's window columns
		if m.slopes != nil {
			addALiBi(row[:p.nsink], m.slopes[h], 0, p.qp, bloom, m.scale)
			addALiBi(row[lo:hi], m.slopes[h], p.qp-(hi-1-lo), p.qp, bloom, m.scale)
		}
		if lw.sliding {
			lo = max(lo, hi-cfg.SlidingWindow)
			maskSliding(row[:p.nsink], p.qp, cfg.SlidingWindow)
		}
		kernels.SoftmaxBand(row, p.nsink, lo, hi, extra, hasExtra)
	}
	out := s.a.att[r0*Q+h*hd:]
	beta := float32(0)
	if ns > 0 {
		gemm.Sgemm(false, false, nb, hd, ns, 1, S, ld, s.sinkV[l][g*s.K*hd:], hd, 0, out, Q)
		beta = 1
	}
	if ncols > 0 {
		gemm.Sgemm(false, false, nb, hd, ncols, 1, S[ns:], ld, s.vbuf[l][(g*s.kcap+c0)*hd:], hd, beta, out, Q)
	}
}

// planWindows lays out recompute windows for the inputs at stream positions
// i0, i0+1, … (each with its own fresh window: positions 0..len−1, causal),
// as many as fit in R rows (at least one), and returns how many and the
// rows they take. tw holds the stream tokens; head the first k (the
// model's sinks).
func (s *scorer) planWindows(i0, inputs int, tw *tokenWindow, head []int32, k int) (n, rows int) {
	s.out = s.out[:0]
	for ; n < inputs; n++ {
		end := i0 + n + 1
		keep, lo := s.spec.RecomputeWindow(k, end)
		L := keep + end - lo
		if n > 0 && rows+L > s.R {
			break
		}
		st := rows
		for j := range L {
			var tok int32
			if j < keep {
				tok = head[j]
			} else {
				tok = tw.at(lo + j - keep)
			}
			s.plan[st+j] = rowPlan{tok: tok, pos: j, qp: j, key: st + j, lo: st, seq: n}
		}
		rows += L
		s.out = append(s.out, outRow{row: rows - 1, index: end, target: tw.at(end)})
	}
	s.planBlocks(rows)
	return n, rows
}

// tokenWindow holds the stream tokens a pass still needs, read front to
// back from a TokenReader: positions [start, start+len(buf)).
type tokenWindow struct {
	r     TokenReader
	buf   []int32
	start int
}

// fill reads until position end−1 is held.
func (w *tokenWindow) fill(end int) error {
	for w.start+len(w.buf) < end {
		need := end - w.start - len(w.buf)
		n0 := len(w.buf)
		w.buf = append(w.buf, make([]int32, need)...)
		if err := readFull(w.r, w.buf[n0:]); err != nil {
			return err
		}
	}
	return nil
}

// drop forgets the tokens before position p.
func (w *tokenWindow) drop(p int) {
	if d := p - w.start; d > 0 {
		d = min(d, len(w.buf))
		n := copy(w.buf, w.buf[d:])
		w.buf = w.buf[:n]
		w.start += d
	}
}

func (w *tokenWindow) at(p int) int32 { return w.buf[p-w.start] }

func (w *tokenWindow) slice(a, b int) []int32 { return w.buf[a-w.start : b-w.start] }

// memoryFallback bounds buffer estimates where the physical memory is
// unknown: 16 GB.
const memoryFallback = 16e9
