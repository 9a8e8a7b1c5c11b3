package kernels

// AttnScores computes s[h·lds + j] = scale·(q_h · k_j) for h < r, j < n:
// the attention scores of r query heads q [r, hd] that share one kv head's
// keys k [n, hd] (grouped-query attention; r = 1 for multi-head), each key
// read once for all r heads. Each dot is summed in [Gemv]'s order.
func AttnScores(q []float32, r, hd int, k []float32, n int, scale float32, s []float32, lds int) {
	if r <= 0 || n <= 0 || hd <= 0 {
		return
	}
	_, _, _ = q[r*hd-1], k[n*hd-1], s[(r-1)*lds+n-1]
	attnScores32(q, r, hd, k, n, scale, s, lds)
}

// AttnValues adds to out[h·ldo + d] the sum over j < n of p[h·ldp + j]·
// v[j·hd + d] for h < r, d < hd: the attention output of r query heads
// whose weights p [r, n] share one kv head's values v [n, hd], each value
// row read once for up to four heads. Per output the rows are added in
// order (the C kernel may fuse the products).
func AttnValues(p []float32, ldp, r int, v []float32, n, hd int, out []float32, ldo int) {
	if r <= 0 || n <= 0 || hd <= 0 {
		return
	}
	_, _, _ = p[(r-1)*ldp+n-1], v[n*hd-1], out[(r-1)*ldo+hd-1]
	attnValues32(p, ldp, r, v, n, hd, out, ldo)
}

// attnScoresGo is AttnScores in Go, each dot in gemvGo's order.
func attnScoresGo(q []float32, r, hd int, k []float32, n int, scale float32, s []float32, lds int) {
	var dot [1]float32
	for h := range r {
		for j := range n {
			gemvGo(k[j*hd:(j+1)*hd], q[h*hd:(h+1)*hd], dot[:], 1, hd, 0)
			s[h*lds+j] = scale * dot[0]
		}
	}
}

// attnValuesGo is AttnValues in Go.
func attnValuesGo(p []float32, ldp, r int, v []float32, n, hd int, out []float32, ldo int) {
	for h := range r {
		o := out[h*ldo : h*ldo+hd]
		for j := range n {
			w := p[h*ldp+j]
			for d, x := range v[j*hd : (j+1)*hd] {
				o[d] += w * x
			}
		}
	}
}

// Attention is one decoding step's attention over one layer's cache, for
// [Pool.Attend]: for each query head h (kv head h/(H/KV)), scores
// Scale·q_h·k_i over the cache slots of the segments in order ([AttnScores];
// a segment with SinkSeg set scores with QSink, the queries rotated by
// their cache position), softmax with Extra[h] when HasExtra
// ([SoftmaxRow]), and Out_h = Σ_i p_i·v_i ([AttnValues]). Scores holds the
// probabilities after.
type Attention struct {
	Q, QSink    []float32 // [H·HeadDim]; QSink nil when no segment uses it
	K, V        []float32 // [KV, Cap, HeadDim]
	Extra       []float32 // [H] or nil
	Scores, Out []float32 // [H, Cap], [H·HeadDim]
	H, KV       int
	HeadDim     int
	Cap         int // cache slots per kv head
	Segs        [3][2]int
	SinkSeg     [3]bool
	NSeg        int
	Scale       float32
	HasExtra    bool
}

// attendGo is [Pool.Attend] on the calling goroutine.
func attendGo(a *Attention) {
	group, hd, cp := a.H/a.KV, a.HeadDim, a.Cap
	for h0 := 0; h0 < a.H; {
		g := h0 / group
		h1 := (g + 1) * group
		nh := h1 - h0
		hk, hv := a.K[g*cp*hd:(g+1)*cp*hd], a.V[g*cp*hd:(g+1)*cp*hd]
		sc := a.Scores[h0*cp : h1*cp]
		n := 0
		for i := range a.NSeg {
			s0, s1 := a.Segs[i][0], a.Segs[i][1]
			q := a.Q
			if a.SinkSeg[i] && a.QSink != nil {
				q = a.QSink
			}
			AttnScores(q[h0*hd:h1*hd], nh, hd, hk[s0*hd:s1*hd], s1-s0, a.Scale, sc[n:], cp)
			n += s1 - s0
		}
		for h := h0; h < h1; h++ {
			var extra float32
			if a.Extra != nil {
				extra = a.Extra[h]
			}
			SoftmaxRow(sc[(h-h0)*cp:(h-h0)*cp+n], extra, a.HasExtra)
		}
		out := a.Out[h0*hd : h1*hd]
		clear(out)
		n = 0
		for i := range a.NSeg {
			s0, s1 := a.Segs[i][0], a.Segs[i][1]
			AttnValues(sc[n:], cp, nh, hv[s0*hd:s1*hd], s1-s0, hd, out, hd)
			n += s1 - s0
		}
		h0 = h1
	}
}
