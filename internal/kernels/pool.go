package kernels

// Matrix is one of the matrices a [Pool.GemvN] or [Pool.GemvPanelsN]
// multiplies the same input by: W [Rows, cols] (float32) or P (bfloat16
// panels, all its rows, plus Bias [P.Rows] or nil), the products going to
// Y[:Rows].
type Matrix struct {
	W, Bias, Y []float32
	P          Panels
	Rows       int
}
