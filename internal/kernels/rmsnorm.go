package kernels

import "math"

// RMSNorm normalises each row of x [N,D] by its root mean square and scales
// it by w [D], as Hugging Face's LlamaRMSNorm (Llama, Mistral, Qwen2):
//
//	r = 1/√(mean_j x_j² + eps),  x̂_j = x_j·r,  y_j = x̂_j·w_j
//
// (x̂ is rounded to T before the weight multiplies it, as HF casts back to
// the input dtype first). Sums run in float64. This is the reference
// formula and the float64 path; float32 graphs call [RMSNorm32].
func RMSNorm[T float32 | float64](x, w, y []T, D int, eps float64) {
	for i := 0; i+D <= len(x); i += D {
		xr, yr := x[i:i+D], y[i:i+D]
		r := T(rmsInv(xr, eps))
		for j, v := range xr {
			yr[j] = v * r * w[j]
		}
	}
}

// RMSNormGradX is the input gradient of [RMSNorm] (g = dy·w):
//
//	dx = r·(g − x̂·mean_j(g_j·x̂_j))
func RMSNormGradX[T float32 | float64](x, w, dy, dx []T, D int, eps float64) {
	for i := 0; i+D <= len(x); i += D {
		xr, dyr, dxr := x[i:i+D], dy[i:i+D], dx[i:i+D]
		r := T(rmsInv(xr, eps))
		var sgx float64
		for j, v := range xr {
			sgx += float64(dyr[j] * w[j] * (v * r))
		}
		m := T(sgx / float64(D))
		for j, v := range xr {
			dxr[j] = r * (dyr[j]*w[j] - v*r*m)
		}
	}
}

// RMSNormGradW is the weight gradient of [RMSNorm]: dw_j = Σ_rows dy_j·x̂_j
// (len(dw) = D; dw is overwritten).
func RMSNormGradW[T float32 | float64](x, dy, dw []T, D int, eps float64) {
	clear(dw[:D])
	for i := 0; i+D <= len(x); i += D {
		xr, dyr := x[i:i+D], dy[i:i+D]
		r := T(rmsInv(xr, eps))
		for j, v := range xr {
			dw[j] += dyr[j] * (v * r)
		}
	}
}

// rmsInv returns 1/√(mean(x²) + eps), summed in float64.
func rmsInv[T float32 | float64](x []T, eps float64) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return 1 / math.Sqrt(s/float64(len(x))+eps)
}
