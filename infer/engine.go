package infer

import (
	"math"

	"github.com/sinktrain/sinktrain/internal/gemm"
	"github.com/sinktrain/sinktrain/internal/kernels"
	"github.com/sinktrain/sinktrain/model"
)

// matrix is a weight matrix [rows, cols]: float32 in row-major order or,
// for a model loaded with --dtype bfloat16, bfloat16 panels (half the
// bytes read per decoded token; kernels.Panels). Products over bfloat16
// weights take their inputs rounded to bfloat16 too, and sum the exact
// products in float32 (AVX512-BF16's pair products where the CPU has
// them), as llama.cpp's and transformers' bfloat16 products do.
type matrix struct {
	f          []float32      // [rows, cols] float32 storage, or nil
	p          kernels.Panels // bfloat16 storage (p.Data nil for float32)
	rows, cols int
}

// bytes is the size of w as stored.
func (w matrix) bytes() int {
	if w.p.Data != nil {
		return 2 * w.rows * w.cols
	}
	return 4 * w.rows * w.cols
}

// sub is rows [lo, hi) of w, sharing its values (lo a multiple of 16 for
// bfloat16 panels).
func (w matrix) sub(lo, hi int) matrix {
	s := matrix{rows: hi - lo, cols: w.cols}
	if w.p.Data != nil {
		s.p = w.p.Sub(lo, hi)
	} else {
		s.f = w.f[lo*w.cols : hi*w.cols]
	}
	return s
}

// row writes row r widened to float32 into dst [cols] (embedding lookups).
func (w matrix) row(r int, dst []float32) {
	if w.p.Data != nil {
		w.p.Row(r, dst)
		return
	}
	copy(dst, w.f[r*w.cols:(r+1)*w.cols])
}

// A decoding step multiplies a matrix of under smallMatrix bytes on one
// goroutine when all of the model's matrices (cachedModel bytes at most)
// stay in the caches from one token to the next: such a product takes
// 5–15 µs there, about what handing half of it to a helper and waiting
// for it costs (the reference model in bfloat16 decodes 2.1–2.6× faster
// so on the 2-core EPYC). A model read from memory splits every product:
// two cores stream twice the bytes of one.
const (
	smallMatrix = 1 << 20
	cachedModel = 16 << 20
)

// roundRows is how many input rows a product over bfloat16 weights rounds
// to bfloat16 at a time (per goroutine) before one kernels.GemmPanels over
// them.
const roundRows = 64

// engine is what a Session and a chunked scorer share: the model, the
// team of goroutines its products and attention heads use, and one
// buffer of rounded inputs per goroutine.
type engine struct {
	m    *Model
	team *team
	xh   [][]kernels.BF16 // per worker [roundRows, PairCols(widest input)]; nil for float32 models

	// The rangers of the splits (held here so that a split allocates nothing).
	lin linearJob
	nrm normJob
	act activationJob
}

func newEngine(m *Model, workers int) engine {
	e := engine{m: m, team: newTeam(workers)}
	if m.dtype == bf16Storage {
		e.xh = make([][]kernels.BF16, e.team.size)
		for i := range e.xh {
			e.xh[i] = make([]kernels.BF16, roundRows*kernels.PairCols(m.widest))
		}
	}
	return e
}

// linear computes y[T, out] (rows ldy apart) = x[T, in] · wᵀ + bias with w
// [out, in]: the output columns are split over the engine's goroutines
// (a decoding step's over the team's pool, a matrix product otherwise).
func (e *engine) linear(y []float32, ldy int, x []float32, T, in int, w matrix, bias []float32, out int) {
	if p := e.team.gemvPool(); T == 1 && p != nil && !e.oneGoroutine(T, out, in, w.bytes()) {
		ps := [1]projection{{w: w, b: bias, rows: out}}
		e.pooled(p, y, x, in, ps[:])
		return
	}
	beta := float32(0)
	if bias != nil && w.p.Data == nil { // bfloat16 kernels add the bias as they store
		for r := range T {
			copy(y[r*ldy:r*ldy+out], bias)
		}
		beta = 1
	}
	if e.oneGoroutine(T, out, in, w.bytes()) {
		e.mul(0, y, ldy, x, T, in, w, bias, 0, out, beta)
		return
	}
	e.lin = linearJob{e: e, y: y, ldy: ldy, x: x, T: T, in: in, w: w, bias: bias, beta: beta}
	e.team.split(out, 16, T*out*in, &e.lin)
}

// oneGoroutine reports whether a product of T rows by an [out, in] matrix
// of the given bytes runs on the calling goroutine alone: too small to
// split, or a decoding step's small matrix of a model in the caches.
func (e *engine) oneGoroutine(T, out, in, bytes int) bool {
	return T*out*in < 1<<16 || (T == 1 && e.m.matBytes <= cachedModel && bytes < smallMatrix)
}

// projections computes the projections ps of the same input x [T, in] into
// their rows of y (rows ldy apart): a layer's q, k and v, or its gate and
// up. A decoding step on the pool multiplies them as one product of their
// stacked rows (one hand-off instead of one each); otherwise one linear
// each.
func (e *engine) projections(y []float32, ldy int, x []float32, T, in int, ps []projection) {
	rows, bytes := 0, 0
	for _, p := range ps {
		rows, bytes = rows+p.rows, bytes+p.w.bytes()
	}
	if p := e.team.gemvPool(); T == 1 && p != nil && len(ps) <= 3 && !e.oneGoroutine(T, rows, in, bytes) {
		e.pooled(p, y, x, in, ps)
		return
	}
	for _, p := range ps {
		e.linear(y[p.off:], ldy, x, T, in, p.w, p.b, p.rows)
	}
}

// pooled computes a decoding step's products of x [in] by the (at most 3)
// projections ps on the pool, as one product of their stacked rows: the
// first p.rows rows of each matrix, plus its bias, into y[p.off:].
func (e *engine) pooled(pool *kernels.Pool, y, x []float32, in int, ps []projection) {
	var m [3]kernels.Matrix
	if ps[0].w.p.Data != nil {
		for i, p := range ps {
			m[i] = kernels.Matrix{P: p.w.p.Sub(0, p.rows), Bias: p.b, Y: y[p.off : p.off+p.rows]}
		}
		xh, _ := e.roundInputs(0, x, 0, 1, in)
		pool.GemvPanelsN(&m, len(ps), xh, 0)
		return
	}
	for i, p := range ps { // float32 products add to y: the bias, or zeros
		yp := y[p.off : p.off+p.rows]
		if p.b != nil {
			copy(yp, p.b)
		} else {
			clear(yp)
		}
		m[i] = kernels.Matrix{W: p.w.f[:p.rows*in], Y: yp, Rows: p.rows}
	}
	pool.GemvN(&m, len(ps), x, in, 1)
}

// linearJob is linear's split: output columns [lo, hi) on worker wk.
type linearJob struct {
	e          *engine
	y, x, bias []float32
	ldy, T, in int
	w          matrix
	beta       float32
}

func (j *linearJob) run(wk, lo, hi int) {
	j.e.mul(wk, j.y, j.ldy, j.x, j.T, j.in, j.w, j.bias, lo, hi, j.beta)
}

// mul computes columns [lo, hi) of linear on goroutine wk's buffers (the
// bias is linear's: float32 weights have it in y already).
func (e *engine) mul(wk int, y []float32, ldy int, x []float32, T, in int, w matrix, bias []float32, lo, hi int, beta float32) {
	if w.p.Data == nil {
		if T == 1 { // kernels.Gemv streams weights beyond the L2 cache faster than OpenBLAS's sgemv (BenchmarkGemv)
			kernels.Gemv(w.f[lo*in:hi*in], x, y[lo:hi], hi-lo, in, beta)
			return
		}
		gemm.Sgemm(false, true, T, hi-lo, in, 1, x, in, w.f[lo*in:], in, beta, y[lo:], ldy)
		return
	}
	// Each goroutine rounds the input rows it multiplies by (all T of them):
	// as long as rounding them once and then splitting the product, and
	// no barrier between the two.
	var bl []float32
	if bias != nil {
		bl = bias[lo:hi]
	}
	for a := 0; a < T; a += roundRows {
		b := min(T, a+roundRows)
		buf, ld := e.roundInputs(wk, x, a, b, in)
		if T == 1 {
			kernels.GemvPanels(w.p, lo, hi, buf, bl, y[lo:hi], beta)
			return
		}
		kernels.GemmPanels(buf, ld, b-a, w.p, lo, hi, bl, y[a*ldy+lo:], ldy, beta)
	}
}

// roundInputs rounds input rows [a, b) of x [·, in] (at most roundRows)
// to bfloat16 in goroutine wk's buffer, rows ld = PairCols(in) apart with
// their pad column zero, and returns it.
func (e *engine) roundInputs(wk int, x []float32, a, b, in int) (buf []kernels.BF16, ld int) {
	buf, ld = e.xh[wk], kernels.PairCols(in)
	if ld == in {
		kernels.RoundBF16(x[a*in:b*in], buf)
		return buf, ld
	}
	for r := a; r < b; r++ {
		kernels.RoundBF16(x[r*in:(r+1)*in], buf[(r-a)*ld:])
		buf[(r-a)*ld+in] = 0
	}
	return buf, ld
}

// acts are the activation buffers of a forward pass over up to R rows.
type acts struct {
	x     []float32 // [R, D] residual stream
	ln    []float32 // [R, D] attention norm output (also the MLP input of a shared parallel norm)
	qkv   []float32 // [R, (H+2KV)·hd] q, k, v of each row (Model.qOff/kOff/vOff)
	att   []float32 // [R, H·hd] attention output, heads concatenated
	proj  []float32 // [R, D] attention output projection
	ln2   []float32 // [R, D] MLP norm output
	up    []float32 // [R, F] GELU MLP hidden; [R, 2F] SwiGLU gate | up
	ff    []float32 // [R, F] SwiGLU hidden
	ffOut []float32 // [R, D] MLP output
	qWin  []float32 // [R, H·hd] queries rotated by their own position (window keys)
	qSink []float32 // [R, H·hd] queries rotated by their cache position (sink keys)
	rot   rowRopes  // cos/sin of each row's positions
}

// rowRopes holds, per row of a forward, cos and sin of its position t (the
// one its key is rotated by) and of its cache position qp ([R, rot/2] each).
type rowRopes struct {
	cosT, sinT, cosQ, sinQ []float64
}

func newActs(m *Model, R int) acts {
	c := m.Config
	D, F := c.HiddenSize, c.IntermediateSize
	upRows := F
	if m.f.MLP == model.SwiGLUMLP {
		upRows = 2 * F
	}
	half, Q := len(m.invFreq), m.H*m.hd
	a := acts{
		x: make([]float32, R*D), ln: make([]float32, R*D), qkv: make([]float32, R*m.qkvRows),
		att: make([]float32, R*Q), proj: make([]float32, R*D), ln2: make([]float32, R*D),
		up: make([]float32, R*upRows), ffOut: make([]float32, R*D),
		qWin: make([]float32, R*Q), qSink: make([]float32, R*Q),
		rot: rowRopes{cosT: make([]float64, R*half), sinT: make([]float64, R*half),
			cosQ: make([]float64, R*half), sinQ: make([]float64, R*half)},
	}
	if m.f.MLP == model.SwiGLUMLP {
		a.ff = make([]float32, R*F)
	}
	return a
}

// actsFloats is the number of float32 values newActs allocates for R rows
// (float64 counted twice), for memory estimates.
func actsFloats(m *Model, R int) int {
	c := m.Config
	D, F := c.HiddenSize, c.IntermediateSize
	up := F
	if m.f.MLP == model.SwiGLUMLP {
		up = 3 * F
	}
	return R * (5*D + m.qkvRows + 3*m.H*m.hd + up + 8*len(m.invFreq))
}

// embed writes the embedding rows of toks into a.x.
func (e *engine) embed(a *acts, toks []int32) {
	D := e.m.Config.HiddenSize
	for r, t := range toks {
		e.m.embed.row(int(t), a.x[r*D:(r+1)*D])
	}
}

// ropes fills a.rot for T rows from pos(r) = (t, qp).
func (e *engine) ropes(a *acts, T int, pos func(r int) (t, qp int)) {
	if e.m.f.Positions != model.RoPE {
		return
	}
	half := len(e.m.invFreq)
	for r := range T {
		t, qp := pos(r)
		lo, hi := r*half, (r+1)*half
		ropeAt(e.m.invFreq, t, a.rot.cosT[lo:hi], a.rot.sinT[lo:hi])
		ropeAt(e.m.invFreq, qp, a.rot.cosQ[lo:hi], a.rot.sinQ[lo:hi])
	}
}

// ropeAt fills cos/sin [rot/2] with the angles p·inv_freq (in float64: a
// stream position of millions keeps its precision).
func ropeAt(invFreq []float64, p int, cos, sin []float64) {
	for i, f := range invFreq {
		sin[i], cos[i] = math.Sincos(float64(p) * f)
	}
}

// layers runs every layer over the T rows of a: norm, q/k/v, then attend(l)
// (which must fill a.att from a.qkv), the output projection and the MLP with
// the model's residual form.
func (e *engine) layers(a *acts, T int, attend func(l int)) {
	m, cfg := e.m, e.m.Config
	D, F := cfg.HiddenSize, cfg.IntermediateSize
	x, ln, ln2 := a.x[:T*D], a.ln[:T*D], a.ln2[:T*D]
	for l := range m.layers {
		lw := &m.layers[l]
		e.norm(x, lw.attnNormW, lw.attnNormB, ln)
		e.projections(a.qkv, m.qkvRows, ln, T, D, lw.qkv)
		e.prepareQKV(a, lw, T)
		attend(l)
		e.linear(a.proj, D, a.att, T, m.H*m.hd, lw.outW, lw.outB, D)
		mlpIn := ln
		switch {
		case m.f.SharedNorm: // x + attn(n(x)) + mlp(n(x))
			add(x, a.proj[:T*D])
		case cfg.ParallelResidual: // x + attn(n1(x)) + mlp(n2(x))
			e.norm(x, lw.ffnNormW, lw.ffnNormB, ln2)
			add(x, a.proj[:T*D])
			mlpIn = ln2
		default:
			add(x, a.proj[:T*D])
			e.norm(x, lw.ffnNormW, lw.ffnNormB, ln2)
			mlpIn = ln2
		}
		hidden := a.up[:T*F]
		if m.f.MLP == model.SwiGLUMLP {
			e.projections(a.up, 2*F, mlpIn, T, D, lw.up)
			hidden = a.ff[:T*F]
		} else {
			e.linear(a.up, F, mlpIn, T, D, lw.up[0].w, lw.up[0].b, F)
		}
		e.act = activationJob{up: a.up, hidden: hidden, F: F, swiglu: m.f.MLP == model.SwiGLUMLP}
		e.rows(T, &e.act)
		e.linear(a.ffOut, D, hidden, T, F, lw.downW, lw.downB, D)
		add(x, a.ffOut[:T*D])
	}
}

// activationJob applies the MLP's activation to rows [lo, hi): SwiGLU of
// up [T, 2F] (gate | up) into hidden [T, F], or GELU of hidden in place.
type activationJob struct {
	up, hidden []float32
	F          int
	swiglu     bool
}

func (j *activationJob) run(_, lo, hi int) {
	F := j.F
	if j.swiglu {
		kernels.SwiGLU(j.up[lo*2*F:hi*2*F], j.hidden[lo*F:hi*F], F)
		return
	}
	kernels.GELU(j.hidden[lo*F:hi*F], j.hidden[lo*F:hi*F], nil)
}

// rows runs r over row ranges of [0, T), split over the engine's
// goroutines when there are enough rows.
func (e *engine) rows(T int, r ranger) {
	if T < 8 {
		r.run(0, 0, T)
		return
	}
	e.team.split(T, 1, T*e.m.Config.HiddenSize, r)
}

// norm applies the model's norm (LayerNorm, or RMSNorm when b is unused)
// to every row of x into y.
func (e *engine) norm(x, w, b, y []float32) {
	e.nrm = normJob{e: e, x: x, w: w, b: b, y: y}
	e.rows(len(x)/e.m.Config.HiddenSize, &e.nrm)
}

// normJob is norm over rows [lo, hi).
type normJob struct {
	e          *engine
	x, w, b, y []float32
}

func (j *normJob) run(_, lo, hi int) {
	D, eps := j.e.m.Config.HiddenSize, j.e.m.Config.LayerNormEps
	if j.e.m.f.Norm == model.RMSNorm {
		kernels.RMSNorm(j.x[lo*D:hi*D], j.w, j.y[lo*D:hi*D], D, eps)
		return
	}
	kernels.LayerNorm(j.x[lo*D:hi*D], j.w, j.b, j.y[lo*D:hi*D], D, eps)
}

// prepareQKV applies clip_qkv and qk_ln to the T rows of a.qkv.
func (e *engine) prepareQKV(a *acts, lw *layerWeights, T int) {
	m, cfg := e.m, e.m.Config
	rows := a.qkv[:T*m.qkvRows]
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

// queries fills a.qWin (each row's queries rotated by its position t) and,
// with RoPE, a.qSink (rotated by its cache position qp) for T rows.
func (e *engine) queries(a *acts, T int) {
	m := e.m
	hd, half, Q := m.hd, len(m.invFreq), m.H*m.hd
	rope := m.f.Positions == model.RoPE
	for r := range T {
		row := a.qkv[r*m.qkvRows : (r+1)*m.qkvRows]
		for h := range m.H {
			q := a.qWin[r*Q+h*hd : r*Q+(h+1)*hd]
			copy(q, row[m.qOff[h]:m.qOff[h]+hd])
			if rope {
				qs := a.qSink[r*Q+h*hd : r*Q+(h+1)*hd]
				copy(qs, q)
				rotate(q, a.rot.cosT[r*half:(r+1)*half], a.rot.sinT[r*half:(r+1)*half])
				rotate(qs, a.rot.cosQ[r*half:(r+1)*half], a.rot.sinQ[r*half:(r+1)*half])
			}
		}
	}
}

// key writes row r's key of kv head g into k [hd] (rotated by the row's
// position t with RoPE) and its value into v [hd].
func (e *engine) key(a *acts, r, g int, k, v []float32) {
	m := e.m
	half := len(m.invFreq)
	row := a.qkv[r*m.qkvRows : (r+1)*m.qkvRows]
	copy(k, row[m.kOff[g]:m.kOff[g]+m.hd])
	if m.f.Positions == model.RoPE {
		rotate(k, a.rot.cosT[r*half:(r+1)*half], a.rot.sinT[r*half:(r+1)*half])
	}
	copy(v, row[m.vOff[g]:m.vOff[g]+m.hd])
}

// logits writes the next-token logits of rows [first, first+n) of a.x into
// dst [n, V] (final norm into a.ln, then the LM head).
func (e *engine) logits(a *acts, first, n int, dst []float32) {
	m, cfg := e.m, e.m.Config
	D := cfg.HiddenSize
	e.norm(a.x[first*D:(first+n)*D], m.normW, m.normB, a.ln[first*D:(first+n)*D])
	e.linear(dst, cfg.VocabSize, a.ln[first*D:], n, D, m.head, nil, cfg.VocabSize)
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

// add sets x += y.
func add(x, y []float32) {
	for i, v := range y {
		x[i] += v
	}
}
