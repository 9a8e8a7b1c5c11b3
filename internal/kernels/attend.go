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
