package kernels

// SwiGLU is the gated activation of the Llama MLP on the output of one
// matrix product with the concatenated weight [gate_proj; up_proj]: each
// row of h [N, 2F] holds the gate g (columns 0…F−1) then the up projection
// u (columns F…2F−1), and y [N, F] is
//
//	y_f = silu(g_f)·u_f,  silu(z) = z·σ(z) = z/(1 + e^{−z})
//
// (HF's act_fn(gate_proj(x)) * up_proj(x) with hidden_act "silu").
// float32: e^{−z} as [Exp] (C kernel unless pure Go); float64: math.Exp.
// y must not overlap h.
func SwiGLU[T Float](h, y []T, F int) {
	if F <= 0 || len(h) < 2*F {
		return
	}
	n := len(h) / (2 * F)
	if h32, ok := any(h).([]float32); ok {
		swiglu32(h32[:n*2*F], any(y).([]float32)[:n*F], F)
		return
	}
	swigluGo(h[:n*2*F], y[:n*F], F)
}

// SwiGLUBackward writes the gradient of SwiGLU into dh [N, 2F] from h and
// dy [N, F] (s = σ(g)):
//
//	dg_f = dy_f·u_f·s·(1 + g_f·(1 − s)),  du_f = dy_f·g_f·s
//
// dh must not overlap the inputs.
func SwiGLUBackward[T Float](h, dy, dh []T, F int) {
	if F <= 0 || len(h) < 2*F {
		return
	}
	n := len(h) / (2 * F)
	if h32, ok := any(h).([]float32); ok {
		swigluBackward32(h32[:n*2*F], any(dy).([]float32)[:n*F], any(dh).([]float32)[:n*2*F], F)
		return
	}
	swigluBackwardGo(h[:n*2*F], dy[:n*F], dh[:n*2*F], F)
}

// swigluGo is the pure-Go SwiGLU (silu as torch computes it, z/(1+e^{−z})).
func swigluGo[T Float](h, y []T, F int) {
	exp := expOf[T]()
	for n := 0; (n+1)*2*F <= len(h); n++ {
		g, u, yr := h[2*n*F:(2*n+1)*F], h[(2*n+1)*F:(2*n+2)*F], y[n*F:(n+1)*F]
		for f, gv := range g {
			yr[f] = gv / (1 + exp(-gv)) * u[f]
		}
	}
}

// swigluBackwardGo is the pure-Go SwiGLUBackward.
func swigluBackwardGo[T Float](h, dy, dh []T, F int) {
	exp := expOf[T]()
	for n := 0; (n+1)*2*F <= len(h); n++ {
		g, u, d := h[2*n*F:(2*n+1)*F], h[(2*n+1)*F:(2*n+2)*F], dy[n*F:(n+1)*F]
		dg, du := dh[2*n*F:(2*n+1)*F], dh[(2*n+1)*F:(2*n+2)*F]
		for f, gv := range g {
			s := 1 / (1 + exp(-gv))
			dg[f] = d[f] * u[f] * s * (1 + gv*(1-s))
			du[f] = d[f] * gv * s
		}
	}
}
