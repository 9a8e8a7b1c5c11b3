package kernels

// Gemv computes y[r] = beta·y[r] + Σ_j w[r·cols+j]·x[j] for r < rows (w
// [rows, cols] row-major float32, x [cols], y [rows]; beta 0 or 1): the
// decoding step's matrix-vector product over float32 weights. Sums are
// float32, in 16 lanes.
func Gemv(w, x, y []float32, rows, cols int, beta float32) {
	if gemvShape(w, x, y, rows, cols) {
		gemv32(w, x, y, rows, cols, beta)
	}
}

// gemvShape reports whether a product of rows × cols has work, and panics
// with an index error (before any C code runs) when w, x or y is shorter
// than the shape asks.
func gemvShape(w, x, y []float32, rows, cols int) bool {
	if rows == 0 || cols == 0 {
		return false
	}
	_ = w[rows*cols-1]
	_ = x[cols-1]
	_ = y[rows-1]
	return true
}

// gemvGo is the pure-Go Gemv: lane l sums the columns j ≡ l (mod 16) of
// the whole 16-column blocks in order, then the tail columns and the
// lanes are added in order (the C kernel's order).
func gemvGo(w, x, y []float32, rows, cols int, beta float32) {
	x = x[:cols]
	for r := range rows {
		var acc [16]float32
		wr := w[r*cols : (r+1)*cols]
		j := 0
		for ; j+16 <= cols; j += 16 {
			for l := range 16 {
				acc[l] += wr[j+l] * x[j+l]
			}
		}
		var s float32
		for ; j < cols; j++ {
			s += wr[j] * x[j]
		}
		for _, a := range acc {
			s += a
		}
		if beta != 0 {
			s += beta * y[r]
		}
		y[r] = s
	}
}
