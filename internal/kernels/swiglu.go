package kernels

import "math"

// SwiGLU is the gated activation of the Llama MLP on the output of one
// matrix product with the concatenated weight [gate_proj; up_proj]: each
// row of h [N, 2F] holds the gate g (columns 0…F−1) then the up projection
// u (columns F…2F−1), and y [N, F] is
//
//	y_f = silu(g_f)·u_f,  silu(z) = z·σ(z) = z/(1 + e^{−z})
//
// (HF's act_fn(gate_proj(x)) * up_proj(x) with hidden_act "silu"). This is
// the reference formula and the float64 path; float32 graphs call
// [SwiGLU32].
func SwiGLU[T float32 | float64](h, y []T, F int) {
	for n := 0; (n+1)*2*F <= len(h); n++ {
		g, u, yr := h[2*n*F:(2*n+1)*F], h[(2*n+1)*F:(2*n+2)*F], y[n*F:(n+1)*F]
		for f, gv := range g {
			yr[f] = T(float64(gv)/(1+math.Exp(-float64(gv)))) * u[f]
		}
	}
}

// SwiGLUGrad is the gradient of [SwiGLU]: from h [N, 2F] and dy [N, F] it
// writes dh [N, 2F] (s = σ(g)):
//
//	dg_f = dy_f·u_f·s·(1 + g_f·(1 − s)),  du_f = dy_f·g_f·s
func SwiGLUGrad[T float32 | float64](h, dy, dh []T, F int) {
	for n := 0; (n+1)*2*F <= len(h); n++ {
		g, u, d := h[2*n*F:(2*n+1)*F], h[(2*n+1)*F:(2*n+2)*F], dy[n*F:(n+1)*F]
		dg, du := dh[2*n*F:(2*n+1)*F], dh[(2*n+1)*F:(2*n+2)*F]
		for f, gv := range g {
			s := T(1 / (1 + math.Exp(-float64(gv))))
			dg[f] = d[f] * u[f] * s * (1 + gv*(1-s))
			du[f] = d[f] * gv * s
		}
	}
}
