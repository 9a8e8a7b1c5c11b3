package kernels

// ColSum sets y[f] = Σ_n x[n·F+f] over the whole rows of x (F = len(y)):
// the bias gradient.
func ColSum[T Float](x, y []T) {
	if len(y) == 0 {
		return
	}
	if len(x) < len(y) {
		clear(y)
		return
	}
	if x32, ok := any(x).([]float32); ok {
		colSum32(x32, any(y).([]float32))
		return
	}
	colSumGo(x, y)
}

// colSumGo is the pure-Go ColSum.
func colSumGo[T Float](x, y []T) {
	clear(y)
	F := len(y)
	for n := 0; n+F <= len(x); n += F {
		for f, v := range x[n : n+F] {
			y[f] += v
		}
	}
}

// Mul sets y[i] = a[i]·b[i] for i < len(a).
func Mul[T Float](a, b, y []T) {
	if len(a) == 0 {
		return
	}
	if a32, ok := any(a).([]float32); ok {
		mul32(a32, any(b).([]float32), any(y).([]float32))
		return
	}
	mulGo(a, b, y)
}

// mulGo is the pure-Go Mul.
func mulGo[T Float](a, b, y []T) {
	b, y = b[:len(a)], y[:len(a)]
	for i, v := range a {
		y[i] = v * b[i]
	}
}

// Scale sets y[i] = x[i]·s for i < len(x); y may be x.
func Scale[T Float](x, y []T, s T) {
	if len(x) == 0 {
		return
	}
	if x32, ok := any(x).([]float32); ok {
		scale32(x32, any(y).([]float32), float32(s))
		return
	}
	scaleGo(x, y, s)
}

// scaleGo is the pure-Go Scale.
func scaleGo[T Float](x, y []T, s T) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = v * s
	}
}
