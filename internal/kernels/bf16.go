package kernels

import "math"

// BF16 is a bfloat16 value: the high 16 bits of a float32
// (checkpoint.Float32ToBF16 rounds to it).
type BF16 = uint16

// fromBF16 widens a bfloat16 to float32 exactly: bits(x) = h << 16.
func fromBF16(h BF16) float32 { return math.Float32frombits(uint32(h) << 16) }

// WidenBF16 sets dst[i] = src[i] widened to float32 (exact) for i < len(src).
func WidenBF16(src []BF16, dst []float32) {
	if len(src) == 0 {
		return
	}
	widenBF1632(src, dst[:len(src)])
}

// widenBF16Go is the pure-Go WidenBF16.
func widenBF16Go(src []BF16, dst []float32) {
	dst = dst[:len(src)]
	for i, h := range src {
		dst[i] = fromBF16(h)
	}
}

// GemvBF16 computes y[r] = beta·y[r] + Σ_j float32(w[r·cols+j])·x[j] for r
// < rows (w [rows, cols] row-major bfloat16, x [cols], y [rows]; beta 0 or
// 1): the decoding step's matrix-vector product over bfloat16 weights,
// which reads half the bytes of a float32 one. Sums are float32, in 16
// lanes.
func GemvBF16(w []BF16, x, y []float32, rows, cols int, beta float32) {
	if gemvShape(w, x, y, rows, cols) {
		gemvBF1632(w, x, y, rows, cols, beta)
	}
}

// gemvBF16Go is the pure-Go GemvBF16.
func gemvBF16Go(w []BF16, x, y []float32, rows, cols int, beta float32) {
	gemvRows(w, x, y, rows, cols, beta, fromBF16)
}
