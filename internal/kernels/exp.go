package kernels

import "math"

// Float is the element type of the generic kernels.
type Float interface{ float32 | float64 }

// isF32 reports whether T is float32.
func isF32[T Float]() bool {
	var z T
	_, ok := any(z).(float32)
	return ok
}

// expOf returns the exponential of the T kernels: Exp for float32,
// math.Exp for float64.
func expOf[T Float]() func(T) T {
	var f any = math.Exp
	if isF32[T]() {
		f = Exp
	}
	return f.(func(T) T)
}

// Exp returns e^x in float32 within 2e-7 relative error (|x| ≤ 87):
// x = k·ln2 + r with |r| ≤ ln2/2 (ln2 split in two for an exact reduction),
// e^r by its degree-7 Taylor polynomial, 2^k by building the exponent bits.
// It is 0 below −87.34, +Inf above 88.38 and NaN for NaN; the C kernels
// inline the same function (st_exp in kernels.h).
func Exp(x float32) float32 {
	const (
		log2e  = 1.44269504088896341
		ln2hi  = 0.693145751953125
		ln2lo  = 1.428606765330187045e-06
		round  = 12582912 // 1.5·2²³: adding it rounds to an integer
		maxArg = 88.37626
		minArg = -87.33654
	)
	if !(x > minArg) {
		if x != x {
			return x // NaN
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

// ExpRow returns m = max(r) and Σ_j e^{r_j−m} (summed in 16 lanes, then in
// float64), storing e^{r_j−m} in dst unless dst is nil (len(dst) ≥ len(r)).
// An empty row gives 0, 0.
func ExpRow[T Float](r, dst []T) (m T, sum float64) {
	if len(r) == 0 {
		return 0, 0
	}
	if r32, ok := any(r).([]float32); ok {
		d32, _ := any(dst).([]float32)
		m32, s := expRow32(r32, d32)
		return T(m32), s
	}
	return expRowGo(r, dst)
}

// expRowGo is the pure-Go ExpRow.
func expRowGo[T Float](r, dst []T) (m T, sum float64) {
	exp := expOf[T]()
	m = r[0]
	for _, v := range r {
		m = max(m, v)
	}
	var acc [16]T
	j := 0
	for ; j+16 <= len(r); j += 16 {
		c := r[j : j+16 : j+16]
		if dst != nil {
			d := dst[j : j+16 : j+16]
			for l := range acc {
				e := exp(c[l] - m)
				d[l] = e
				acc[l] += e
			}
		} else {
			for l := range acc {
				acc[l] += exp(c[l] - m)
			}
		}
	}
	for ; j < len(r); j++ {
		e := exp(r[j] - m)
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
