package kernels

import "math"

// RMSNorm normalises each row of x [N, D] into y [N, D] by its root mean
// square and scales it by w [D], as Hugging Face's LlamaRMSNorm (Llama,
// Mistral, Qwen2; in float32 for float32 inputs):
//
//	r = 1/√(mean_j x_j² + eps),  x̂_j = x_j·r,  y_j = x̂_j·w_j
//
// (x̂ is rounded to T before the weight multiplies it, as HF casts back to
// the input dtype first). Sums run in float64 (float32: 16 lanes first).
// Rows past the last whole one are ignored; y must not overlap x.
func RMSNorm[T Float](x, w, y []T, D int, eps float64) {
	if D <= 0 || len(x) < D {
		return
	}
	n := len(x) / D * D
	if x32, ok := any(x).([]float32); ok {
		rmsNorm32(x32[:n], any(w).([]float32)[:D], any(y).([]float32)[:n], D, eps)
		return
	}
	rmsNormGo(x[:n], w[:D], y[:n], D, eps)
}

// RMSNormBackward writes the gradient of RMSNorm from x, w and dy
// (g = dy·w):
//
//	dx = r·(g − x̂·mean_j(g_j·x̂_j))   into out [N, D], or
//	dw = Σ_rows dy·x̂                 into out [D] when wrtW
//
// out must not overlap the inputs.
func RMSNormBackward[T Float](x, w, dy, out []T, D int, eps float64, wrtW bool) {
	if D <= 0 || len(x) < D {
		return
	}
	n := len(x) / D * D
	m := n
	if wrtW {
		m = D
	}
	if x32, ok := any(x).([]float32); ok {
		rmsNormBackward32(x32[:n], any(w).([]float32)[:D], any(dy).([]float32)[:n], any(out).([]float32)[:m], D, eps, wrtW)
		return
	}
	rmsNormBackwardGo(x[:n], w[:D], dy[:n], out[:m], D, eps, wrtW)
}

// rmsInv returns 1/√(mean(x²) + eps), summed in float64.
func rmsInv[T Float](x []T, eps float64) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return 1 / math.Sqrt(s/float64(len(x))+eps)
}

// rmsNormGo is the pure-Go RMSNorm.
func rmsNormGo[T Float](x, w, y []T, D int, eps float64) {
	for i := 0; i+D <= len(x); i += D {
		xr, yr := x[i:i+D], y[i:i+D]
		r := T(rmsInv(xr, eps))
		for j, v := range xr {
			yr[j] = v * r * w[j]
		}
	}
}

// rmsNormBackwardGo is the pure-Go RMSNormBackward.
func rmsNormBackwardGo[T Float](x, w, dy, out []T, D int, eps float64, wrtW bool) {
	if wrtW {
		clear(out[:D])
	}
	for i := 0; i+D <= len(x); i += D {
		xr, dyr := x[i:i+D], dy[i:i+D]
		r := T(rmsInv(xr, eps))
		if wrtW {
			for j, v := range xr {
				out[j] += dyr[j] * (v * r)
			}
			continue
		}
		var sgx float64
		for j, v := range xr {
			sgx += float64(dyr[j] * w[j] * (v * r))
		}
		m := T(sgx / float64(D))
		dx := out[i : i+D]
		for j, v := range xr {
			dx[j] = r * (dyr[j]*w[j] - v*r*m)
		}
	}
}
