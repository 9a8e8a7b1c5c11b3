//go:build !cgo || purego

package kernels

// Without cgo (CGO_ENABLED=0) or with the purego tag, the float32
// instantiations run the pure-Go kernels.

// Impl names the float32 kernel set in use: "c" (cgo, target_clones
// AVX-512 / AVX2 / baseline) or "go" (pure Go: no cgo, or the purego tag).
const Impl = "go"

func expRow32(r, dst []float32) (float32, float64) { return expRowGo(r, dst) }

func softmaxRow32(row []float32, extra float32, hasExtra bool) float32 {
	return softmaxRowGo(row, extra, hasExtra)
}

func softmaxBand32(row []float32, nsink, lo, hi int, extra float32, hasExtra bool) float32 {
	return softmaxBandGo(row, nsink, lo, hi, extra, hasExtra)
}

func softmaxCausal32(p []float32, ld, i0, n, ncols int, extra float32, hasExtra bool, psink []float32) {
	softmaxCausalGo(p, ld, i0, n, ncols, extra, hasExtra, psink)
}

func attentionDS32(p, d []float32, ld, i0, n, ncols int, scale float32) {
	attentionDSGo(p, d, ld, i0, n, ncols, scale)
}

func gelu32(x, y, d []float32) { geluGo(x, y, d) }

func layerNorm32(x, w, b, y []float32, D int, eps float64) { layerNormGo(x, w, b, y, D, eps) }

func layerNormBackward32(x, w, dy, out []float32, D int, eps float64, wrtW bool) {
	layerNormBackwardGo(x, w, dy, out, D, eps, wrtW)
}

func rmsNorm32(x, w, y []float32, D int, eps float64) { rmsNormGo(x, w, y, D, eps) }

func rmsNormBackward32(x, w, dy, out []float32, D int, eps float64, wrtW bool) {
	rmsNormBackwardGo(x, w, dy, out, D, eps, wrtW)
}

func swiglu32(h, y []float32, F int) { swigluGo(h, y, F) }

func swigluBackward32(h, dy, dh []float32, F int) { swigluBackwardGo(h, dy, dh, F) }

func colSum32(x, y []float32) { colSumGo(x, y) }

func mul32(a, b, y []float32) { mulGo(a, b, y) }

func scale32(x, y []float32, s float32) { scaleGo(x, y, s) }

func gemv32(w, x, y []float32, rows, cols int, beta float32) { gemvGo(w, x, y, rows, cols, beta) }

func roundBF1632(src []float32, dst []BF16) { roundBF16Go(src, dst) }

func bf16Dot() bool { return false }

func gemvPanels32(w, x []BF16, bias, y []float32, rows, kp int, beta float32, _ bool) {
	gemvPanelsGo(w, x, bias, y, rows, kp, beta)
}

func gemmPanels32(x []BF16, ldx, T int, w []BF16, rows, kp int, bias, y []float32, ldy int, beta float32, _ bool) {
	gemmPanelsGo(x, ldx, T, w, rows, kp, bias, y, ldy, beta)
}

func attnScores32(q []float32, r, hd int, k []float32, n int, scale float32, s []float32, lds int) {
	attnScoresGo(q, r, hd, k, n, scale, s, lds)
}

func attnValues32(p []float32, ldp, r int, v []float32, n, hd int, out []float32, ldo int) {
	attnValuesGo(p, ldp, r, v, n, hd, out, ldo)
}

func rope32(qkv, heads, cos, sin []float32, m RoPEHeads, back bool) {
	ropeGo(qkv, heads, cos, sin, m, back)
}

func adamW32(w, g, m, v []float32, c AdamWCoeffs) bool { return adamWGo(w, g, m, v, c) }
