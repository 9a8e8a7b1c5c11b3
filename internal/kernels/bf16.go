package kernels

import "math"

// BF16 is a bfloat16 value: the high 16 bits of a float32
// (checkpoint.Float32ToBF16 and RoundBF16 round to it).
type BF16 = uint16

// fromBF16 widens a bfloat16 to float32 exactly: bits(x) = h << 16.
func fromBF16(h BF16) float32 { return math.Float32frombits(uint32(h) << 16) }

// PanelRows is the rows of one bfloat16 panel.
const PanelRows = 16

// Panels is a [Rows, Cols] matrix stored as bfloat16 panels, the layout
// of the decoding steps' and prefills' products over bfloat16 weights:
// ⌈Rows/16⌉ panels of 16 rows (the last padded with zero rows), each
// holding its rows' columns in pairs — for pair q = 0..KP−1 (KP =
// ⌈Cols/2⌉, a zero column pads an odd Cols) 16 words, word i being
// (row 16p+i, column 2q) in its low half and (16p+i, 2q+1) in its high
// half:
//
//	Data[((p·KP + q)·16 + i)·2 + c] = bfloat16(m[16p+i][2q+c])
//
// so that one 64-byte load is the operand of a bfloat16 pair product
// (AVX512-BF16's vdpbf16ps) for 16 output rows, and a panel is read from
// start to end once per product.
type Panels struct {
	Data       []BF16
	Rows, Cols int
}

// PairCols is the bfloat16 values of one input row of a product with
// cols columns: cols rounded up to even (the pad is zero).
func PairCols(cols int) int { return (cols + 1) / 2 * 2 }

// panelLen is the values of one panel of a matrix with cols columns.
func panelLen(cols int) int { return PairCols(cols) * PanelRows }

// at is the index in Data of element (r, j).
func (p Panels) at(r, j int) int {
	return r/PanelRows*panelLen(p.Cols) + (j/2*PanelRows+r%PanelRows)*2 + j%2
}

// PackPanels rounds the [rows, cols] row-major float32 matrix m (its
// first rows·cols values) to bfloat16 (nearest even) as panels.
func PackPanels(m []float32, rows, cols int) Panels {
	m = m[:rows*cols]
	p := Panels{Data: Alloc[BF16]((rows + PanelRows - 1) / PanelRows * panelLen(cols)), Rows: rows, Cols: cols}
	for r := range rows {
		for j, v := range m[r*cols : (r+1)*cols] {
			p.Data[p.at(r, j)] = roundBF16(v)
		}
	}
	return p
}

// Row widens row r into dst [Cols] (embedding lookups of a tied head).
func (p Panels) Row(r int, dst []float32) {
	for j := range dst[:p.Cols] {
		dst[j] = fromBF16(p.Data[p.at(r, j)])
	}
}

// Sub is rows [lo, hi) of p as a matrix of their own, sharing p's values
// (lo a multiple of PanelRows: an index error otherwise).
func (p Panels) Sub(lo, hi int) Panels {
	panelShape(p, lo, hi)
	return Panels{Data: p.panel(lo, hi), Rows: hi - lo, Cols: p.Cols}
}

// panel returns the values of the panels holding rows [lo, hi), lo a
// multiple of 16.
func (p Panels) panel(lo, hi int) []BF16 {
	n := panelLen(p.Cols)
	return p.Data[lo/PanelRows*n : (hi+PanelRows-1)/PanelRows*n]
}

// roundBF16 is checkpoint.Float32ToBF16: nearest even, NaN a quiet NaN.
func roundBF16(f float32) BF16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return BF16(b>>16) | 0x40
	}
	return BF16((b + 0x7fff + (b>>16)&1) >> 16)
}

// RoundBF16 sets dst[i] to src[i] rounded to bfloat16 (nearest even) for
// i < len(src): the inputs of products over Panels.
func RoundBF16(src []float32, dst []BF16) {
	if len(src) == 0 {
		return
	}
	roundBF1632(src, dst[:len(src)])
}

func roundBF16Go(src []float32, dst []BF16) {
	for i, v := range src {
		dst[i] = roundBF16(v)
	}
}

// BF16Dot reports whether products over Panels run AVX512-BF16's bfloat16
// pair instructions on this CPU (else they widen the weights to float32).
func BF16Dot() bool { return bf16Dot() }

// GemvPanels computes y[r] = beta·y[r] + Σ_j w[lo+r][j]·x[j] + bias[r]
// for r < hi−lo, rows [lo, hi) of w (lo a multiple of 16; x
// [PairCols(w.Cols)] bfloat16 from RoundBF16, its pad zero; bias nil or
// [hi−lo]; beta 0 or 1): a decoding step's matrix-vector product.
// Products of two bfloat16 values are exact in float32; sums are float32.
func GemvPanels(w Panels, lo, hi int, x []BF16, bias, y []float32, beta float32) {
	if lo == hi {
		return
	}
	kp := panelShape(w, lo, hi)
	_ = x[2*kp-1]
	_ = y[hi-lo-1]
	gemvPanels32(w.panel(lo, hi), x, biasRows(bias, hi-lo), y, hi-lo, kp, beta, false)
}

// GemmPanels computes y[t][r] = beta·y[t][r] + Σ_j x[t][j]·w[lo+r][j] +
// bias[r] for t < T, r < hi−lo (x [T, ldx] bfloat16, ldx even and ≥
// PairCols(w.Cols), pads zero; bias nil or [hi−lo]; y rows ldy apart): a
// prefill's or a scored chunk's product.
func GemmPanels(x []BF16, ldx, T int, w Panels, lo, hi int, bias, y []float32, ldy int, beta float32) {
	if lo == hi || T == 0 {
		return
	}
	kp := panelShape(w, lo, hi)
	_ = x[(T-1)*ldx+2*kp-1]
	_ = y[(T-1)*ldy+hi-lo-1]
	gemmPanels32(x, ldx, T, w.panel(lo, hi), hi-lo, kp, biasRows(bias, hi-lo), y, ldy, beta, false)
}

// biasRows returns the first n values of bias, nil for no bias (an index
// error when a non-nil bias is shorter).
func biasRows(bias []float32, n int) []float32 {
	if bias == nil {
		return nil
	}
	return bias[:n]
}

// panelShape returns the column pairs of w, and fails with an index error
// (before any C code runs) unless lo is a multiple of 16 and [lo, hi) are
// rows of w.
func panelShape(w Panels, lo, hi int) int {
	var whole [1]int
	_ = whole[lo%PanelRows]    // lo starts a panel
	_ = w.Data[:w.Rows][lo:hi] // rows of w (w.Data holds at least w.Rows values)
	return PairCols(w.Cols) / 2
}

// gemvPanelsGo is the pure-Go GemvPanels over the panels holding its rows
// (w starts at row 0 of them): lane sums in column-pair order.
func gemvPanelsGo(w, x []BF16, bias, y []float32, rows, kp int, beta float32) {
	n := 2 * kp * PanelRows
	for p := 0; p*PanelRows < rows; p++ {
		wp := w[p*n : (p+1)*n]
		var acc [PanelRows]float32
		for q := range kp {
			xl, xh := fromBF16(x[2*q]), fromBF16(x[2*q+1])
			for i := range PanelRows {
				acc[i] += fromBF16(wp[(q*PanelRows+i)*2])*xl + fromBF16(wp[(q*PanelRows+i)*2+1])*xh
			}
		}
		for i := range min(PanelRows, rows-p*PanelRows) {
			r := p*PanelRows + i
			if bias != nil {
				acc[i] += bias[r]
			}
			if beta != 0 {
				acc[i] += y[r]
			}
			y[r] = acc[i]
		}
	}
}

// gemmPanelsGo is the pure-Go GemmPanels: one GemvPanels per row of x.
func gemmPanelsGo(x []BF16, ldx, T int, w []BF16, rows, kp int, bias, y []float32, ldy int, beta float32) {
	for t := range T {
		gemvPanelsGo(w, x[t*ldx:], bias, y[t*ldy:], rows, kp, beta)
	}
}
