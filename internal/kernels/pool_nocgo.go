//go:build !cgo || purego

package kernels

// Pool is, in the cgo build, helper threads in C for one caller's
// matrix-vector products. The pure-Go build has none: NewPool returns nil
// and callers split products themselves.
type Pool struct{ n int }

// NewPool returns nil in the pure-Go build.
func NewPool(int) *Pool { return nil }

// Size is the number of parts a product is split into.
func (p *Pool) Size() int { return p.n }

// Close does nothing.
func (p *Pool) Close() {}

// GemvN is [Gemv] by each of the first n matrices of m in turn.
func (p *Pool) GemvN(m *[3]Matrix, n int, x []float32, cols int, beta float32) {
	for i := range n {
		Gemv(m[i].W, x, m[i].Y, m[i].Rows, cols, beta)
	}
}

// GemvPanelsN is [GemvPanels] by all the rows of each of the first n
// panel matrices of m in turn.
func (p *Pool) GemvPanelsN(m *[3]Matrix, n int, x []BF16, beta float32) {
	for i := range n {
		GemvPanels(m[i].P, 0, m[i].P.Rows, x, m[i].Bias, m[i].Y, beta)
	}
}

// Attend computes the attention on the calling goroutine.
func (p *Pool) Attend(a *Attention) { attendGo(a) }
