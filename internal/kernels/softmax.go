package kernels

import "math"

// SoftmaxRow normalises one row of attention scores in place and returns
// the share of the extra logit:
//
//	p_j = e^{s_j} / (Σ_k e^{s_k} + [hasExtra]·e^{extra})
//
// hasExtra false is softmax; extra 0 is softmax₁ ("attention is off by
// one", a zero sink); extra b_h is gpt-oss's learned per-head sink logit.
// The row then sums to 1 − the returned share. An empty row returns the
// whole mass on the extra logit (1, or 0 without one).
func SoftmaxRow[T Float](row []T, extra T, hasExtra bool) T {
	if len(row) == 0 {
		if hasExtra {
			return 1
		}
		return 0
	}
	if r32, ok := any(row).([]float32); ok {
		return T(softmaxRow32(r32, float32(extra), hasExtra))
	}
	return softmaxRowGo(row, extra, hasExtra)
}

// softmaxRowGo is the pure-Go SoftmaxRow (max and sums in T).
func softmaxRowGo[T Float](row []T, extra T, hasExtra bool) T {
	exp := expOf[T]()
	m := row[0]
	if hasExtra {
		m = extra
	}
	for _, s := range row {
		m = max(m, s)
	}
	var z, e T
	for j, s := range row {
		v := exp(s - m)
		row[j] = v
		z += v
	}
	if hasExtra {
		e = exp(extra - m)
		z += e
	}
	inv := 1 / z
	for j := range row {
		row[j] *= inv
	}
	return e * inv
}

// SoftmaxCausal normalises the n rows of a causal attention block that
// start at row i0 (row r at p[r·ld:]): row i0+r keeps its first i0+r+1
// scores, normalised as [SoftmaxRow] does, and its entries after them up to
// column ncols are zeroed; psink[r] receives the extra logit's share.
func SoftmaxCausal[T Float](p []T, ld, i0, n, ncols int, extra T, hasExtra bool, psink []T) {
	if n <= 0 {
		return
	}
	_ = p[(n-1)*ld+max(ncols, i0+n)-1]
	_ = psink[n-1]
	if p32, ok := any(p).([]float32); ok {
		softmaxCausal32(p32, ld, i0, n, ncols, float32(extra), hasExtra, any(psink).([]float32))
		return
	}
	softmaxCausalGo(p, ld, i0, n, ncols, extra, hasExtra, psink)
}

// softmaxCausalGo is the pure-Go SoftmaxCausal.
func softmaxCausalGo[T Float](p []T, ld, i0, n, ncols int, extra T, hasExtra bool, psink []T) {
	for r := range n {
		row := p[r*ld:]
		vis := i0 + r + 1
		psink[r] = softmaxRowGo(row[:vis], extra, hasExtra)
		if ncols > vis {
			clear(row[vis:ncols])
		}
	}
}

// AttentionDS turns dP into dS in place for the n rows of a causal
// attention block starting at row i0 (row r at p[r·ld:] and d[r·ld:]), the
// softmax backward: with p the probabilities of the i0+r+1 visible columns,
//
//	dS_j = p_j·(dP_j − Σ_k p_k·dP_k)·scale   for visible j, 0 after, up to ncols.
func AttentionDS[T Float](p, d []T, ld, i0, n, ncols int, scale T) {
	if n <= 0 {
		return
	}
	_ = p[(n-1)*ld+i0+n-1]
	_ = d[(n-1)*ld+max(ncols, i0+n)-1]
	if p32, ok := any(p).([]float32); ok {
		attentionDS32(p32, any(d).([]float32), ld, i0, n, ncols, float32(scale))
		return
	}
	attentionDSGo(p, d, ld, i0, n, ncols, scale)
}

// attentionDSGo is the pure-Go AttentionDS.
func attentionDSGo[T Float](p, d []T, ld, i0, n, ncols int, scale T) {
	for r := range n {
		vis := i0 + r + 1
		pr, dr := p[r*ld:r*ld+vis], d[r*ld:]
		var di T
		for j, pv := range pr {
			di += pv * dr[j]
		}
		for j, pv := range pr {
			dr[j] = pv * (dr[j] - di) * scale
		}
		if ncols > vis {
			clear(dr[vis:ncols])
		}
	}
}

// SoftmaxBand normalises, in place, the visible entries of one attention
// row laid out as [sink scores | window scores]: row[:nsink] and
// row[lo:hi] as one softmax (with the optional extra logit, as
// [SoftmaxRow]), and zeroes row[nsink:lo] and row[hi:] (keys the query does
// not see), so that the row can multiply the block's values as is:
//
//	p_j = e^{s_j} / (Σ_{k visible} e^{s_k} + [hasExtra]·e^{extra})   for visible j, 0 otherwise
//
// It needs nsink ≤ lo ≤ hi ≤ len(row) and returns the extra logit's share.
func SoftmaxBand(row []float32, nsink, lo, hi int, extra float32, hasExtra bool) float32 {
	_ = row[:hi]
	if nsink > lo || lo > hi {
		panic("kernels: SoftmaxBand needs nsink ≤ lo ≤ hi")
	}
	if nsink == 0 && lo == hi {
		clear(row)
		if hasExtra {
			return 1
		}
		return 0
	}
	return softmaxBand32(row, nsink, lo, hi, extra, hasExtra)
}

// softmaxBandGo is the pure-Go SoftmaxBand.
func softmaxBandGo(row []float32, nsink, lo, hi int, extra float32, hasExtra bool) float32 {
	m := float32(math.Inf(-1))
	if hasExtra {
		m = extra
	}
	for _, s := range row[:nsink] {
		m = max(m, s)
	}
	for _, s := range row[lo:hi] {
		m = max(m, s)
	}
	var z, e float32
	for _, seg := range [2][]float32{row[:nsink], row[lo:hi]} {
		for j, s := range seg {
			v := Exp(s - m)
			seg[j] = v
			z += v
		}
	}
	if hasExtra {
		e = Exp(extra - m)
		z += e
	}
	inv := 1 / z
	for _, seg := range [2][]float32{row[:nsink], row[lo:hi]} {
		for j := range seg {
			seg[j] *= inv
		}
	}
	clear(row[nsink:lo])
	clear(row[hi:])
	return e * inv
}
