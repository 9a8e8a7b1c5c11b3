package kernels

import "math"

// LayerNorm normalises each row of x [N, D] into y [N, D] and applies the
// affine map (w, b: [D]):
//
//	μ = mean_j x_j,  σ² = mean_j (x_j − μ)²,  y = (x − μ)/√(σ² + eps)·w + b
//
// Row statistics are summed in float64 (float32: 16 lanes first). Rows past
// the last whole one are ignored.
func LayerNorm[T Float](x, w, b, y []T, D int, eps float64) {
	if D <= 0 || len(x) < D {
		return
	}
	if x32, ok := any(x).([]float32); ok {
		layerNorm32(x32, any(w).([]float32), any(b).([]float32), any(y).([]float32), D, eps)
		return
	}
	layerNormGo(x, w, b, y, D, eps)
}

// LayerNormBackward writes the gradient of LayerNorm from x, w and dy
// (g = dy·w, x̂ the normalised row):
//
//	dx = (g − mean(g) − x̂·mean(g·x̂)) / √(σ² + eps)   into out [N, D], or
//	dw = Σ_rows dy·x̂                                  into out [D] when wrtW
//
// (db is the column sum of dy, [ColSum]).
func LayerNormBackward[T Float](x, w, dy, out []T, D int, eps float64, wrtW bool) {
	if D <= 0 || len(x) < D {
		return
	}
	if x32, ok := any(x).([]float32); ok {
		layerNormBackward32(x32, any(w).([]float32), any(dy).([]float32), any(out).([]float32), D, eps, wrtW)
		return
	}
	layerNormBackwardGo(x, w, dy, out, D, eps, wrtW)
}

// rowStats returns the mean and 1/√(var+eps) of one row.
func rowStats[T Float](x []T, eps float64) (mu, r float64) {
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	mu = s / float64(len(x))
	var q float64
	for _, v := range x {
		d := float64(v) - mu
		q += d * d
	}
	return mu, 1 / math.Sqrt(q/float64(len(x))+eps)
}

// layerNormGo is the pure-Go LayerNorm.
func layerNormGo[T Float](x, w, b, y []T, D int, eps float64) {
	for i := 0; i+D <= len(x); i += D {
		xr, yr := x[i:i+D], y[i:i+D]
		mu, r := rowStats(xr, eps)
		m, rr := T(mu), T(r)
		for j := range xr {
			yr[j] = (xr[j]-m)*rr*w[j] + b[j]
		}
	}
}

// layerNormBackwardGo is the pure-Go LayerNormBackward.
func layerNormBackwardGo[T Float](x, w, dy, out []T, D int, eps float64, wrtW bool) {
	if wrtW {
		clear(out[:D])
	}
	for i := 0; i+D <= len(x); i += D {
		xr, dyr := x[i:i+D], dy[i:i+D]
		mu, r := rowStats(xr, eps)
		m, rr := T(mu), T(r)
		if wrtW {
			for j := range xr {
				out[j] += dyr[j] * (xr[j] - m) * rr
			}
			continue
		}
		var sg, sgx float64
		for j := range xr {
			g := float64(dyr[j] * w[j])
			sg += g
			sgx += g * float64((xr[j]-m)*rr)
		}
		mg, mgx := T(sg/float64(D)), T(sgx/float64(D))
		dx := out[i : i+D]
		for j := range xr {
			dx[j] = (dyr[j]*w[j] - mg - (xr[j]-m)*rr*mgx) * rr
		}
	}
}
