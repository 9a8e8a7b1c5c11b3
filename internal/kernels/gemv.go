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

// gemvGo is the pure-Go Gemv in the C kernel's order: four 16-lane
// accumulators take the 16-column blocks of each 64 in turn, the first
// also the whole blocks after the last 64, then (a0 + a1) + (a2 + a3) lane
// by lane, the lanes by halves (hsum16), the tail columns' sum in order
// and beta·y.
func gemvGo(w, x, y []float32, rows, cols int, beta float32) {
	x = x[:cols]
	for r := range rows {
		var a [4][16]float32
		wr := w[r*cols : (r+1)*cols]
		j := 0
		for ; j+64 <= cols; j += 64 {
			for k := range 4 {
				for l := range 16 {
					a[k][l] += wr[j+16*k+l] * x[j+16*k+l]
				}
			}
		}
		for ; j+16 <= cols; j += 16 {
			for l := range 16 {
				a[0][l] += wr[j+l] * x[j+l]
			}
		}
		var acc [16]float32
		for l := range 16 {
			acc[l] = (a[0][l] + a[1][l]) + (a[2][l] + a[3][l])
		}
		var t float32
		for ; j < cols; j++ {
			t += wr[j] * x[j]
		}
		s := hsum16(&acc) + t
		if beta != 0 {
			s += beta * y[r]
		}
		y[r] = s
	}
}

// hsum16 adds 16 lanes by halves: lane l + lane l+8, then l + l+4, then
// (0 + 2) + (1 + 3).
func hsum16(a *[16]float32) float32 {
	var b [8]float32
	for l := range 8 {
		b[l] = a[l] + a[l+8]
	}
	var c [4]float32
	for l := range 4 {
		c[l] = b[l] + b[l+4]
	}
	return (c[0] + c[2]) + (c[1] + c[3])
}
