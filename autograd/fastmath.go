package autograd

import "math"

// Fast float32 elementwise math for the hot loops (softmax rows, the
// vocabulary softmax, GELU). The float64 instantiations of the ops keep
// math.Exp and the erf table, so the finite-difference checks (float64) are
// unaffected; float32 graphs use these.

// exp32 returns e^x in float32 within 2e-7 relative error (|x| ≤ 87):
// x = k·ln2 + r with |r| ≤ ln2/2 (ln2 split in two for an exact reduction),
// e^r by its degree-7 Taylor polynomial, 2^k by building the exponent bits.
// It is branch-light and about 4× faster than math.Exp on float64.
func exp32(x float32) float32 {
	const (
		log2e  = 1.44269504088896341
		ln2hi  = 0.693145751953125
		ln2lo  = 1.428606765330187045e-06
		round  = 12582912 // 1.5·2²³: adding it rounds to an integer
		maxArg = 88.37626
		minArg = -87.33654
	)
	if !(x > minArg) { // also NaN → 0 is wrong; keep NaN
		if x != x {
			return x
		}
		return 0
	}
	if x > maxArg {
		return float32(math.Inf(1))
	}
	k := x*log2e + round
	k -= round
	r := x - k*ln2hi - k*ln2lo
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720+r*(1.0/5040)))))))
	return p * math.Float32frombits(uint32(int32(k)+127)<<23)
}

// normal32 returns Φ(x) and φ(x) of the standard normal in float32 from one
// exponential: φ = e^{−x²/2}/√(2π) and erf(|x|/√2) by Abramowitz–Stegun
// 7.1.26, whose factor e^{−x²/2} is the same exponential (absolute error of
// Φ below 1e-7, of φ below 1e-7).
func normal32(x float32) (cdf, pdf float32) {
	const (
		invSqrt2   = 0.70710678118654752
		invSqrt2Pi = 0.39894228040143268
		p          = 0.3275911
		a1         = 0.254829592
		a2         = -0.284496736
		a3         = 1.421413741
		a4         = -1.453152027
		a5         = 1.061405429
	)
	e := exp32(-0.5 * x * x)
	pdf = invSqrt2Pi * e
	z := x * invSqrt2
	if z < 0 {
		z = -z
	}
	t := 1 / (1 + p*z)
	erf := 1 - t*(a1+t*(a2+t*(a3+t*(a4+t*a5))))*e
	if x < 0 {
		erf = -erf
	}
	return 0.5 + 0.5*erf, pdf
}

// expRow32Go is the pure-Go expRow32: it returns max(r) and Σ e^{r−max}
// (16 float32 partial sums) and stores e^{r−max} in dst unless dst is nil.
func expRow32Go(r, dst []float32) (m float32, sum float64) {
	m = r[0]
	for _, v := range r {
		m = max(m, v)
	}
	var acc [16]float32
	j := 0
	for ; j+16 <= len(r); j += 16 {
		c := r[j : j+16 : j+16]
		if dst != nil {
			d := dst[j : j+16 : j+16]
			for l := range acc {
				e := exp32(c[l] - m)
				d[l] = e
				acc[l] += e
			}
		} else {
			for l := range acc {
				acc[l] += exp32(c[l] - m)
			}
		}
	}
	for ; j < len(r); j++ {
		e := exp32(r[j] - m)
		if dst != nil {
			dst[j] = e
		}
		sum += float64(e)
	}
	for _, a := range acc {
		sum += float64(a)
	}
	return m, sum
}

// gelu32Go is the pure-Go gelu32: y = GELU(x) and, when d is not nil,
// d = GELU'(x) = Φ(x) + x·φ(x).
func gelu32Go(x, y, d []float32) {
	y = y[:len(x)]
	if d == nil {
		for i, v := range x {
			cdf, _ := normal32(v)
			y[i] = v * cdf
		}
		return
	}
	d = d[:len(x)]
	for i, v := range x {
		cdf, pdf := normal32(v)
		y[i] = v * cdf
		d[i] = cdf + v*pdf
	}
}

// softmaxRow32Go normalises one float32 row in place with exp32 (an extra
// logit in the denominator when hasExtra) and returns the extra's share;
// softmaxCausal32's C kernel does the same in 16 lanes.
func softmaxRow32Go(row []float32, extra float32, hasExtra bool) float32 {
	m := float32(math.Inf(-1))
	if hasExtra {
		m = extra
	}
	for _, s := range row {
		if s > m {
			m = s
		}
	}
	var z, e float32
	for j, s := range row {
		v := exp32(s - m)
		row[j] = v
		z += v
	}
	if hasExtra {
		e = exp32(extra - m)
		z += e
	}
	inv := 1 / z
	for j := range row {
		row[j] *= inv
	}
	return e * inv
}

// colSum32Go is the pure-Go colSum32: y[f] = Σ_n x[n·F+f] (len(y) = F).
func colSum32Go(x, y []float32) {
	clear(y)
	F := len(y)
	for n := 0; n+F <= len(x); n += F {
		for f, v := range x[n : n+F] {
			y[f] += v
		}
	}
}

// mul32Go is the pure-Go mul32: y[i] = a[i]·b[i].
func mul32Go(a, b, y []float32) {
	for i, v := range a {
		y[i] = v * b[i]
	}
}

// scale32Go is the pure-Go scale32: y[i] = x[i]·s.
func scale32Go(x, y []float32, s float32) {
	for i, v := range x {
		y[i] = v * s
	}
}

// attnDSGo is the pure-Go attnDS32 (and the float64 path): for one
// attention row with probabilities p (the visible columns) and dP in d
// (len(d) ≥ len(p)), dS_j = p_j·(dP_j − Σ_k p_k·dP_k)·scale for j < len(p),
// and 0 after.
func attnDSGo[T Float](p, d []T, scale T) {
	var di T
	for j, pv := range p {
		di += pv * d[j]
	}
	for j, pv := range p {
		d[j] = pv * (d[j] - di) * scale
	}
	clear(d[len(p):])
}

// softmaxCausalGo is the pure-Go softmaxCausal32.
func softmaxCausalGo(p []float32, ld, i0, n, ncols int, extra float32, hasExtra bool, psink []float32) {
	for r := 0; r < n; r++ {
		row := p[r*ld : r*ld+ncols]
		vis := i0 + r + 1
		psink[r] = softmaxRow32Go(row[:vis], extra, hasExtra)
		clear(row[vis:])
	}
}

// attnDSBlockGo applies attnDSGo to the n rows of a causal block starting at
// row i0 (row r at p[r*ld:] with i0+r+1 visible columns, d[r*ld:r*ld+ncols]).
func attnDSBlockGo[T Float](p, d []T, ld, i0, n, ncols int, scale T) {
	for r := 0; r < n; r++ {
		attnDSGo(p[r*ld:r*ld+i0+r+1], d[r*ld:r*ld+ncols], scale)
	}
}
