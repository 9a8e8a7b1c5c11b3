//go:build cgo && !purego

package kernels

/*
#cgo LDFLAGS: -lpthread
#include "kernels.h"
*/
import "C"

// Pool is n−1 helper threads in C for one caller's matrix-vector products
// (a decoding step's): a product is split into n parts of whole 16-row
// blocks, the caller runs the first and waits for the others by spinning,
// all inside one C call. Idle helpers spin for 200 µs after their last
// part, then sleep until the next product. A Pool serves one goroutine at
// a time; Close frees it.
type Pool struct {
	p *C.struct_st_pool
	n int
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
	return &Pool{p: p, n: n}
}

// Size is the number of parts a product is split into.
func (p *Pool) Size() int { return p.n }

// Close stops the helpers; the pool must not be used after.
func (p *Pool) Close() { C.st_pool_free(p.p) }

// Gemv is [Gemv] split over the pool by rows.
func (p *Pool) Gemv(w, x, y []float32, rows, cols int, beta float32) {
	if gemvShape(w, x, y, rows, cols) {
		C.st_pool_gemv(p.p, cf(w), cf(x), cf(y), C.long(rows), C.long(cols), C.float(beta))
	}
}

// GemvPanels is [GemvPanels] split over the pool by whole panels.
func (p *Pool) GemvPanels(w Panels, lo, hi int, x []BF16, bias, y []float32, beta float32) {
	if lo == hi {
		return
	}
	kp := panelShape(w, lo, hi)
	_ = x[2*kp-1]
	_ = y[hi-lo-1]
	C.st_pool_gemv_panels(p.p, cu16(w.panel(lo, hi)), cu16(x), cfOrNil(biasRows(bias, hi-lo)), cf(y), C.long(hi-lo), C.long(kp), C.float(beta))
}
