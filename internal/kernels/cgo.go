//go:build cgo && !purego

package kernels

// The C kernels (*.c, kernels.h) behind the float32 instantiations. One cgo
// call per row, block or tensor; callers check lengths (the exported
// functions of this package do).

/*
#cgo CFLAGS: -O3
#cgo LDFLAGS: -lm
#include "kernels.h"
*/
import "C"

import "unsafe"

// Impl names the float32 kernel set in use: "c" (cgo, target_clones
// AVX-512 / AVX2 / baseline) or "go" (pure Go: no cgo, or the purego tag).
const Impl = "c"

// cf returns a C pointer to the first element of a non-empty slice.
func cf(s []float32) *C.float { return (*C.float)(unsafe.Pointer(&s[0])) }

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

func expRow32(r, dst []float32) (float32, float64) {
	var e *C.float
	if dst != nil {
		e = cf(dst[:len(r)])
	}
	res := C.st_exp_row(cf(r), e, C.long(len(r)))
	return float32(res.max), float64(res.sum)
}

func softmaxRow32(row []float32, extra float32, hasExtra bool) float32 {
	return float32(C.st_softmax_row(cf(row), C.long(len(row)), C.float(extra), cbool(hasExtra)))
}

func softmaxBand32(row []float32, nsink, lo, hi int, extra float32, hasExtra bool) float32 {
	return float32(C.st_softmax_band(cf(row), C.long(len(row)), C.long(nsink), C.long(lo), C.long(hi), C.float(extra), cbool(hasExtra)))
}

func softmaxCausal32(p []float32, ld, i0, n, ncols int, extra float32, hasExtra bool, psink []float32) {
	C.st_softmax_causal(cf(p), C.long(ld), C.long(i0), C.long(n), C.long(ncols), C.float(extra), cbool(hasExtra), cf(psink))
}

func attentionDS32(p, d []float32, ld, i0, n, ncols int, scale float32) {
	C.st_attn_ds(cf(p), cf(d), C.long(ld), C.long(i0), C.long(n), C.long(ncols), C.float(scale))
}

func gelu32(x, y, d []float32) {
	var dp *C.float
	if d != nil {
		dp = cf(d[:len(x)])
	}
	C.st_gelu(cf(x), cf(y[:len(x)]), dp, C.long(len(x)))
}

func layerNorm32(x, w, b, y []float32, D int, eps float64) {
	C.st_layernorm(cf(x), cf(w), cf(b), cf(y), C.long(len(x)/D), C.long(D), C.double(eps))
}

func layerNormBackward32(x, w, dy, out []float32, D int, eps float64, wrtW bool) {
	C.st_layernorm_bwd(cf(x), cf(w), cf(dy), cf(out), C.long(len(x)/D), C.long(D), C.double(eps), cbool(wrtW))
}

func rmsNorm32(x, w, y []float32, D int, eps float64) {
	C.st_rmsnorm(cf(x), cf(w), cf(y), C.long(len(x)/D), C.long(D), C.double(eps))
}

func rmsNormBackward32(x, w, dy, out []float32, D int, eps float64, wrtW bool) {
	C.st_rmsnorm_bwd(cf(x), cf(w), cf(dy), cf(out), C.long(len(x)/D), C.long(D), C.double(eps), cbool(wrtW))
}

func swiglu32(h, y []float32, F int) { C.st_swiglu(cf(h), cf(y), C.long(len(h)/(2*F)), C.long(F)) }

func swigluBackward32(h, dy, dh []float32, F int) {
	C.st_swiglu_bwd(cf(h), cf(dy), cf(dh), C.long(len(h)/(2*F)), C.long(F))
}

func colSum32(x, y []float32) { C.st_colsum(cf(x), cf(y), C.long(len(x)/len(y)), C.long(len(y))) }

func mul32(a, b, y []float32) { C.st_mul(cf(a), cf(b[:len(a)]), cf(y[:len(a)]), C.long(len(a))) }

func scale32(x, y []float32, s float32) {
	C.st_scale(cf(x), cf(y[:len(x)]), C.float(s), C.long(len(x)))
}

// cu16 returns a C pointer to the first element of a non-empty slice.
func cu16(s []BF16) *C.uint16_t { return (*C.uint16_t)(unsafe.Pointer(&s[0])) }

func roundBF1632(src []float32, dst []BF16) { C.st_round_bf16(cf(src), cu16(dst), C.long(len(src))) }

func bf16Dot() bool { return C.st_bf16_dot() != 0 }

// cfOrNil is cf, or NULL for an empty slice.
func cfOrNil(s []float32) *C.float {
	if len(s) == 0 {
		return nil
	}
	return cf(s)
}

func gemvPanels32(w, x []BF16, bias, y []float32, rows, kp int, beta float32, widen bool) {
	C.st_gemv_panels(cu16(w), cu16(x), cfOrNil(bias), cf(y), C.long(rows), C.long(kp), C.float(beta), cbool(widen))
}

func gemmPanels32(x []BF16, ldx, T int, w []BF16, rows, kp int, bias, y []float32, ldy int, beta float32, widen bool) {
	C.st_gemm_panels(cu16(x), C.long(ldx), C.long(T), cu16(w), C.long(rows), C.long(kp), cfOrNil(bias), cf(y), C.long(ldy), C.float(beta), cbool(widen))
}

func gemv32(w, x, y []float32, rows, cols int, beta float32) {
	C.st_gemv(cf(w), cf(x), cf(y), C.long(rows), C.long(cols), C.float(beta))
}

func attnScores32(q []float32, r, hd int, k []float32, n int, scale float32, s []float32, lds int) {
	C.st_attn_scores(cf(q), C.long(r), C.long(hd), cf(k), C.long(n), C.float(scale), cf(s), C.long(lds))
}

func attnValues32(p []float32, ldp, r int, v []float32, n, hd int, out []float32, ldo int) {
	C.st_attn_values(cf(p), C.long(ldp), C.long(r), cf(v), C.long(n), C.long(hd), cf(out), C.long(ldo))
}

func rope32(qkv, heads, cos, sin []float32, m RoPEHeads, back bool) {
	cols := make([]int64, len(m.Cols)) // one allocation per call: S values
	for j, c := range m.Cols {
		cols[j] = int64(c)
	}
	C.st_rope(cf(qkv), cf(heads), cf(cos), cf(sin), C.long(m.B), C.long(m.T), C.long(m.HeadDim), C.long(m.Width),
		(*C.int64_t)(unsafe.Pointer(&cols[0])), C.long(len(cols)), C.long(m.Rotated), C.long(len(cos)/m.T), cbool(back))
}

func adamW32(w, g, m, v []float32, c AdamWCoeffs) bool {
	return C.st_adamw(cf(w), cf(g), cf(m), cf(v), C.long(len(w)), C.float(c.Scale), C.float(c.Beta1), C.float(c.Beta2),
		C.float(c.Shrink), C.float(c.StepSize), C.float(c.InvSqrtBC2), C.float(c.Eps)) != 0
}
