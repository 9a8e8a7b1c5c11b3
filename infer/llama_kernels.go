package infer

import "math"

// The two float32 kernels of the Llama family's forward. internal/kernels
// gets its RMSNorm and SwiGLU from the Llama training work (issue 20);
// until they are on main these loops are the engine's, and they go when
// that lands (same formulas, same row layouts).

// rmsNorm normalises each row of x [N, D] into y (HF LlamaRMSNorm):
//
//	y_j = w_j · x_j / sqrt(mean_k x_k² + eps)
//
// (the sum in float64; x̂ rounded to float32 before the weight, as HF casts
// back before multiplying). y may be x.
func rmsNorm(x, w, y []float32, D int, eps float64) {
	for i := 0; i+D <= len(x); i += D {
		xr, yr := x[i:i+D], y[i:i+D]
		var ss float64
		for _, v := range xr {
			ss += float64(v) * float64(v)
		}
		r := float32(1 / math.Sqrt(ss/float64(D)+eps))
		for j, v := range xr {
			yr[j] = (v * r) * w[j]
		}
	}
}

// swiGLU computes y [N, F] from h [N, 2F] whose rows hold the gate g then
// the up projection u: y_f = silu(g_f)·u_f, silu(z) = z/(1 + e^−z).
func swiGLU(h, y []float32, F int) {
	for n := 0; (n+1)*2*F <= len(h); n++ {
		g, u, yr := h[2*n*F:(2*n+1)*F], h[(2*n+1)*F:(2*n+2)*F], y[n*F:(n+1)*F]
		for f, gv := range g {
			yr[f] = float32(float64(gv)/(1+math.Exp(-float64(gv)))) * u[f]
		}
	}
}
