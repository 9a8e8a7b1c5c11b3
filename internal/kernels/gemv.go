package kernels

// Gemv computes y[r] = beta·y[r] + Σ_j w[r·cols+j]·x[j] for r < rows (w
// [rows, cols] row-major float32, x [cols], y [rows]; beta 0 or 1): the
// decoding step's matrix-vector product over float32 weights. Sums are
// float32, in 16 lanes (the order of GemvBF16).
func Gemv(w, x, y []float32, rows, cols int, beta float32) {
	if rows == 0 || cols == 0 {
		return
	}
	_ = w[rows*cols-1]
	_ = x[cols-1]
	_ = y[rows-1]
	gemv32(w, x, y, rows, cols, beta)
}

// gemvGo is the pure-Go Gemv.
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
