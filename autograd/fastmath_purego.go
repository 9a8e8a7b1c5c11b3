//go:build purego

package autograd

func expRow32(r, dst []float32) (float32, float64) { return expRow32Go(r, dst) }

func gelu32(x, y, d []float32) { gelu32Go(x, y, d) }

func layerNorm32(x, w, b, y []float32, D int, eps float64) { layerNormFwd(x, w, b, y, D, eps) }

func layerNormBwd32(x, w, dy, out []float32, D int, eps float64, wrtW bool) {
	layerNormBwd(x, w, dy, out, D, eps, wrtW)
}

func colSum32(x, y []float32) { colSum32Go(x, y) }

func mul32(a, b, y []float32) { mul32Go(a, b, y) }

func scale32(x, y []float32, s float32) { scale32Go(x, y, s) }

func attnDS32(p, d []float32, ld, i0, n, ncols int, scale float32) {
	attnDSBlockGo(p, d, ld, i0, n, ncols, scale)
}

func adamW32(w, g, m, v []float32, c AdamWCoeffs) bool { return adamW32Go(w, g, m, v, c) }

func softmaxCausal32(p []float32, ld, i0, n, ncols int, extra float32, hasExtra bool, psink []float32) {
	softmaxCausalGo(p, ld, i0, n, ncols, extra, hasExtra, psink)
}
