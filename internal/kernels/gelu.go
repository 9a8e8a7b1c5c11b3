package kernels

// GELU is the exact (erf) Gaussian error linear unit, elementwise:
//
//	y = x·Φ(x),  Φ(x) = ½(1 + erf(x/√2)),  d = GELU'(x) = Φ(x) + x·φ(x)
//
// with d written only when it is not nil (the backward is then one
// multiply, [Mul]). y may be x. float32: Φ, φ from [Normal32] (C kernel
// unless pure Go); float64: from the table of [Normal]. len(y), len(d) ≥
// len(x).
func GELU[T Float](x, y, d []T) {
	if len(x) == 0 {
		return
	}
	if x32, ok := any(x).([]float32); ok {
		d32, _ := any(d).([]float32)
		gelu32(x32, any(y).([]float32), d32)
		return
	}
	geluGo(x, y, d)
}

// geluGo is the pure-Go GELU.
func geluGo[T Float](x, y, d []T) {
	normal := normalOf[T]()
	y = y[:len(x)]
	if d == nil {
		for i, v := range x {
			cdf, _ := normal(v)
			y[i] = v * cdf
		}
		return
	}
	d = d[:len(x)]
	for i, v := range x {
		cdf, pdf := normal(v)
		y[i] = v * cdf
		d[i] = cdf + v*pdf
	}
}

// GELUBackward writes dx = dy·GELU'(x) = dy·(Φ(x) + x·φ(x)) (pure Go; the
// training graphs keep GELU' from the forward and call [Mul] instead).
func GELUBackward[T Float](x, dy, dx []T) {
	normal := normalOf[T]()
	for i, v := range x {
		cdf, pdf := normal(v)
		dx[i] = dy[i] * (cdf + v*pdf)
	}
}
