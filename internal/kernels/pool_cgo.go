//go:build cgo && !purego

package kernels

/*
#cgo LDFLAGS: -lpthread
#include <stdlib.h>
#include "kernels.h"
*/
import "C"

import "unsafe"

// Pool is n−1 helper threads in C for one caller's matrix-vector products
// (a decoding step's): a product is split into n parts of whole 16-row
// blocks, the caller runs the first and waits for the others by spinning,
// all inside one C call. Idle helpers spin for 200 µs after their last
// part, then sleep until the next product. A Pool serves one goroutine at
// a time; Close frees it.
type Pool struct {
	p   *C.struct_st_pool
	n   int
	seg []C.long // [6] Attend's segments, in C memory (a Go array would escape: an allocation per call)
}

// NewPool returns a pool of n parts, or nil for n ≤ 1, in the pure-Go
// build, or when a thread cannot start (callers then split products
// themselves).
func NewPool(n int) *Pool {
	if n <= 1 {
		return nil
	}
	p := C.st_pool_new(C.int(n))
	if p == nil {
		return nil
	}
	seg := (*C.long)(C.calloc(6, C.size_t(unsafe.Sizeof(C.long(0)))))
	if seg == nil {
		C.st_pool_free(p)
		return nil
	}
	return &Pool{p: p, n: n, seg: unsafe.Slice(seg, 6)}
}

// Size is the number of parts a product is split into.
func (p *Pool) Size() int { return p.n }

// Close stops the helpers; the pool must not be used after.
func (p *Pool) Close() {
	C.st_pool_free(p.p)
	C.free(unsafe.Pointer(&p.seg[0]))
}

// GemvN is [Gemv] of x by the first n ≤ 3 matrices of m (the same
// columns), split over the pool as one product of their stacked rows (in
// parts of a multiple of 16): one hand-off for a layer's q, k and v, or
// its gate and up.
func (p *Pool) GemvN(m *[3]Matrix, n int, x []float32, cols int, beta float32) {
	if n < 1 || cols == 0 {
		return
	}
	var w, y [3]*C.float
	var rows [3]C.long
	for i := range n {
		if gemvShape(m[i].W, x, m[i].Y, m[i].Rows, cols) { // a matrix of no rows stays nil
			w[i], y[i], rows[i] = cf(m[i].W), cf(m[i].Y), C.long(m[i].Rows)
		}
	}
	C.st_pool_gemv(p.p, C.int(n), w[0], y[0], rows[0], w[1], y[1], rows[1], w[2], y[2], rows[2], cf(x), C.long(cols), C.float(beta))
}

// GemvPanelsN is [GemvPanels] of x by all the rows of the first n ≤ 3
// panel matrices of m (the same columns), split over the pool as one
// product of their stacked rows in whole panels; one product each when
// they do not stack on whole panels (a matrix before the last with rows
// not a multiple of 16).
func (p *Pool) GemvPanelsN(m *[3]Matrix, n int, x []BF16, beta float32) {
	for i := 1; i < n; i++ {
		if m[i-1].P.Rows%PanelRows != 0 || m[i].P.Cols != m[0].P.Cols {
			for i := range n {
				one := [3]Matrix{m[i]}
				p.GemvPanelsN(&one, 1, x, beta)
			}
			return
		}
	}
	var w [3]*C.uint16_t
	var b, y [3]*C.float
	var rows [3]C.long
	kp := 0
	for i := range n {
		if r := m[i].P.Rows; r > 0 { // a matrix of no rows stays nil
			kp = panelShape(m[i].P, 0, r)
			_ = m[i].Y[r-1]
			w[i], b[i], y[i], rows[i] = cu16(m[i].P.panel(0, r)), cfOrNil(biasRows(m[i].Bias, r)), cf(m[i].Y), C.long(r)
		}
	}
	if kp == 0 {
		return
	}
	_ = x[2*kp-1]
	C.st_pool_gemv_panels(p.p, C.int(n), w[0], b[0], y[0], rows[0], w[1], b[1], y[1], rows[1], w[2], b[2], y[2], rows[2],
		cu16(x), C.long(kp), C.float(beta))
}

// Attend computes one decoding step's attention (see [Attention]) over the
// pool, query heads in contiguous ranges.
func (p *Pool) Attend(a *Attention) {
	H, hd := a.H, a.HeadDim
	if H <= 0 || hd <= 0 || a.KV <= 0 || H%a.KV != 0 || a.NSeg < 1 || a.NSeg > 3 {
		return
	}
	n := 0
	for i := range a.NSeg {
		s0, s1 := a.Segs[i][0], a.Segs[i][1]
		if s0 < 0 || s1 < s0 || s1 > a.Cap {
			return
		}
		n += s1 - s0
	}
	if n == 0 || n > a.Cap {
		return
	}
	_, _, _ = a.Q[H*hd-1], a.K[a.KV*a.Cap*hd-1], a.V[a.KV*a.Cap*hd-1]
	_, _ = a.Scores[H*a.Cap-1], a.Out[H*hd-1]
	qsink, extra := cf(a.Q), (*C.float)(nil)
	if a.QSink != nil {
		_ = a.QSink[H*hd-1]
		qsink = cf(a.QSink)
	}
	if a.Extra != nil {
		_ = a.Extra[H-1]
		extra = cf(a.Extra)
	}
	mask := 0
	for i := range a.NSeg {
		p.seg[2*i], p.seg[2*i+1] = C.long(a.Segs[i][0]), C.long(a.Segs[i][1])
		if a.SinkSeg[i] && a.QSink != nil {
			mask |= 1 << i
		}
	}
	C.st_pool_attend(p.p, cf(a.Q), qsink, cf(a.K), cf(a.V), extra, cf(a.Scores), cf(a.Out), C.long(H), C.long(a.KV),
		C.long(hd), C.long(a.Cap), C.long(a.NSeg), &p.seg[0], C.int(mask), C.float(a.Scale), cbool(a.HasExtra))
}
