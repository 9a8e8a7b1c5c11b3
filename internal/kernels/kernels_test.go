package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// vec returns n standard normal float32s from seed.
func vec(seed uint64, n int) []float32 {
	r := rand.New(rand.NewPCG(seed, 77))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// ramp returns n values sweeping [−9.5, 9.4] in steps of 0.019.
func ramp(n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(i%997)*0.019 - 9.5
	}
	return x
}

// to64 widens a float32 slice.
func to64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// near fails unless |got−want| ≤ tol·(1+|want|) elementwise.
func near[T, U Float](t *testing.T, what string, got []T, want []U, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, expected %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i]) - float64(want[i])); !(d <= tol*(1+math.Abs(float64(want[i])))) {
			t.Fatalf("%s[%d] = %v, expected %v (tolerance %g)", what, i, got[i], want[i], tol)
		}
	}
}

func TestExp(t *testing.T) {
	worst := 0.0
	for x := -87.0; x <= 88; x += 0.000731 {
		got, want := float64(Exp(float32(x))), math.Exp(float64(float32(x)))
		if r := math.Abs(got-want) / want; r > worst {
			worst = r
		}
	}
	if worst > 1e-6 {
		t.Fatalf("Exp max relative error %.3g, expected ≤ 1e-6", worst)
	}
	if Exp(-200) != 0 || !math.IsInf(float64(Exp(200)), 1) || !math.IsNaN(float64(Exp(float32(math.NaN())))) {
		t.Fatal("Exp limits wrong")
	}
}

func TestNormal32(t *testing.T) {
	var worstC, worstP float64
	for x := -10.0; x <= 10; x += 0.000917 {
		c, p := Normal32(float32(x))
		wc := 0.5 * math.Erfc(-x/math.Sqrt2)
		wp := math.Exp(-x*x/2) / math.Sqrt(2*math.Pi)
		worstC = math.Max(worstC, math.Abs(float64(c)-wc))
		worstP = math.Max(worstP, math.Abs(float64(p)-wp))
	}
	if worstC > 2e-6 || worstP > 2e-6 {
		t.Fatalf("Normal32 max abs error cdf %.3g pdf %.3g, expected ≤ 2e-6", worstC, worstP)
	}
}

func TestErfTable(t *testing.T) {
	var worstErf, worstPdf float64
	for x := -7.0; x <= 7.0; x += 0.0013 {
		worstErf = math.Max(worstErf, math.Abs(Erf(x)-math.Erf(x)))
		_, pdf := Normal(x)
		worstPdf = math.Max(worstPdf, math.Abs(pdf-math.Exp(-x*x/2)/math.Sqrt(2*math.Pi)))
	}
	if worstErf > 2e-6 || worstPdf > 2e-6 {
		t.Fatalf("max abs error: erf %.3g, pdf %.3g, want <= 2e-6", worstErf, worstPdf)
	}
	if c, p := Normal(math.NaN()); !math.IsNaN(c) || !math.IsNaN(p) {
		t.Fatal("Normal(NaN) is not NaN")
	}
	if c, _ := Normal(-9); c != 0 {
		t.Fatalf("Normal(-9) = %v, expected 0", c)
	}
	if c, _ := Normal(9); c != 1 {
		t.Fatalf("Normal(9) = %v, expected 1", c)
	}
}

// TestExpRow checks ExpRow (C kernel unless pure Go) against the pure-Go
// version and float64 math, with and without dst, on a row that is not a
// multiple of 16.
func TestExpRow(t *testing.T) {
	const n = 4099 // not a multiple of 16
	x := ramp(n)
	e, eGo := make([]float32, n), make([]float32, n)
	m, s := ExpRow(x, e)
	mGo, sGo := expRowGo(x, eGo)
	var want float64
	for _, v := range x {
		want += math.Exp(float64(v) - float64(mGo))
	}
	if m != mGo || math.Abs(s-want)/want > 1e-6 || math.Abs(sGo-want)/want > 1e-6 {
		t.Fatalf("ExpRow: max %v sum %v, Go max %v sum %v, want sum %v", m, s, mGo, sGo, want)
	}
	if m2, s2 := ExpRow(x, nil); m2 != m || s2 != s {
		t.Fatalf("ExpRow without dst: %v %v, want %v %v", m2, s2, m, s)
	}
	for i, v := range x {
		wantE := math.Exp(float64(v - m)) // the float32 difference, as the kernel sees it
		if math.Abs(float64(e[i])-wantE) > 1e-6*wantE {
			t.Fatalf("exp[%d] = %v, want %v", i, e[i], wantE)
		}
	}
	m64, s64 := ExpRow(to64(x), nil)
	if float32(m64) != m || math.Abs(s64-want)/want > 1e-12 {
		t.Fatalf("ExpRow float64: %v %v, want %v %v", m64, s64, m, want)
	}
}

// TestGELU checks GELU and its derivative (C kernel unless pure Go) against
// the pure-Go kernel, and both precisions against math.Erf.
func TestGELU(t *testing.T) {
	const n = 4099 // not a multiple of 16
	x := ramp(n)
	want, dwant := make([]float64, n), make([]float64, n)
	for i, v := range x {
		f := float64(v)
		cdf := 0.5 * math.Erfc(-f/math.Sqrt2)
		want[i] = f * cdf
		dwant[i] = cdf + f*math.Exp(-f*f/2)/math.Sqrt(2*math.Pi)
	}
	y, d, yGo, dGo := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	GELU(x, y, d)
	geluGo(x, yGo, dGo)
	near(t, "GELU vs Go", y, yGo, 1e-6)
	near(t, "GELU' vs Go", d, dGo, 1e-6)
	near(t, "GELU float32", y, want, 2e-6)
	near(t, "GELU' float32", d, dwant, 2e-6)
	in := append([]float32(nil), x...)
	GELU(in, in, nil) // in place
	near(t, "GELU in place", in, y, 0)
	x64, y64, d64 := to64(x), make([]float64, n), make([]float64, n)
	GELU(x64, y64, d64)
	near(t, "GELU float64", y64, want, 1e-7)
	near(t, "GELU' float64", d64, dwant, 1e-7)
	dy := vec(9, n)
	dx := make([]float32, n)
	GELUBackward(x, dy, dx)
	for i := range dwant {
		dwant[i] *= float64(dy[i])
	}
	near(t, "GELUBackward", dx, dwant, 2e-6)
}

// TestSoftmax checks SoftmaxRow and SoftmaxCausal (C kernels unless pure
// Go) against float64 references for softmax, softmax₁ and a sink logit.
func TestSoftmax(t *testing.T) {
	ref := func(row []float32, extra float64, hasExtra bool) ([]float64, float64) {
		m := math.Inf(-1)
		if hasExtra {
			m = extra
		}
		for _, v := range row {
			m = math.Max(m, float64(v))
		}
		var z, e float64
		out := make([]float64, len(row))
		for j, v := range row {
			out[j] = math.Exp(float64(v) - m)
			z += out[j]
		}
		if hasExtra {
			e = math.Exp(extra - m)
			z += e
		}
		for j := range out {
			out[j] /= z
		}
		return out, e / z
	}
	for _, c := range []struct {
		name     string
		extra    float32
		hasExtra bool
	}{{"softmax", 0, false}, {"softmax1", 0, true}, {"sink_logit", 1.7, true}} {
		for _, n := range []int{1, 15, 16, 17, 200} {
			x := vec(uint64(n), n)
			for i := range x {
				x[i] *= 3
			}
			want, wantE := ref(x, float64(c.extra), c.hasExtra)
			row, rowGo := append([]float32(nil), x...), append([]float32(nil), x...)
			e, eGo := SoftmaxRow(row, c.extra, c.hasExtra), softmaxRowGo(rowGo, c.extra, c.hasExtra)
			near(t, c.name+" row", row, want, 1e-6)
			near(t, c.name+" row (Go)", rowGo, want, 1e-6)
			near(t, c.name+" extra share", []float32{e, eGo}, []float64{wantE, wantE}, 1e-6)
			r64 := to64(x)
			e64 := SoftmaxRow(r64, float64(c.extra), c.hasExtra)
			near(t, c.name+" row float64", r64, want, 1e-12)
			near(t, c.name+" extra float64", []float64{e64}, []float64{wantE}, 1e-12)
		}
		// A causal block: rows i0..i0+n−1 of a T×T score matrix.
		const T, i0, n, ld = 40, 7, 20, 41
		p := vec(99, n*ld)
		psink := make([]float32, n)
		orig := append([]float32(nil), p...)
		SoftmaxCausal(p, ld, i0, n, T, c.extra, c.hasExtra, psink)
		for r := range n {
			vis := i0 + r + 1
			want, wantE := ref(orig[r*ld:r*ld+vis], float64(c.extra), c.hasExtra)
			near(t, c.name+" causal row", p[r*ld:r*ld+vis], want, 1e-6)
			near(t, c.name+" causal zeros", p[r*ld+vis:r*ld+T], make([]float64, T-vis), 0)
			near(t, c.name+" causal extra", psink[r:r+1], []float64{wantE}, 1e-6)
			if p[r*ld+T] != orig[r*ld+T] {
				t.Fatalf("%s: column %d (past ncols) was written", c.name, T)
			}
		}
		// Band rows [sinks | window]: visible row[:ns] and row[lo:hi].
		for _, b := range [][3]int{{0, 4, 21}, {3, 3, 3}, {4, 9, 40}, {1, 40, 40}, {2, 17, 34}} {
			ns, lo, hi := b[0], b[1], b[2]
			x := vec(uint64(7*lo+hi), 40)
			vis := append(append([]float32(nil), x[:ns]...), x[lo:hi]...)
			want, wantE := ref(vis, float64(c.extra), c.hasExtra)
			for _, f := range []func([]float32, int, int, int, float32, bool) float32{SoftmaxBand, softmaxBandGo} {
				row := append([]float32(nil), x...)
				e := f(row, ns, lo, hi, c.extra, c.hasExtra)
				got := append(append([]float32(nil), row[:ns]...), row[lo:hi]...)
				near(t, c.name+" band", got, want, 1e-6)
				near(t, c.name+" band zeros", append(append([]float32(nil), row[ns:lo]...), row[hi:]...), make([]float64, len(row)-len(got)), 0)
				near(t, c.name+" band extra", []float32{e}, []float64{wantE}, 1e-6)
			}
		}
	}
	if SoftmaxRow([]float32{}, 0, true) != 1 || SoftmaxRow([]float32{}, 0, false) != 0 {
		t.Fatal("empty rows: wrong extra share")
	}
}

// TestCrossEntropy checks the NLL against float64 log-sum-exp and the
// gradient against finite differences of the float64 NLL.
func TestCrossEntropy(t *testing.T) {
	const V = 1031
	z := vec(5, V)
	for i := range z {
		z[i] *= 4
	}
	lse := func(z []float64) float64 {
		m := z[0]
		for _, v := range z {
			m = math.Max(m, v)
		}
		var s float64
		for _, v := range z {
			s += math.Exp(v - m)
		}
		return m + math.Log(s)
	}
	z64 := to64(z)
	for _, tgt := range []int{0, 17, V - 1} {
		want := lse(z64) - z64[tgt]
		grad := make([]float32, V)
		got := CrossEntropy(z, tgt, grad, 0.25)
		if math.Abs(got-want) > 1e-6*(1+want) {
			t.Fatalf("target %d: nll %v, want %v", tgt, got, want)
		}
		if g := CrossEntropy(z, tgt, nil, 0); g != got {
			t.Fatalf("target %d: nll without gradient %v, with %v", tgt, g, got)
		}
		g64 := make([]float64, V)
		if n64 := CrossEntropy(z64, tgt, g64, 0.25); math.Abs(n64-want) > 1e-12*(1+want) {
			t.Fatalf("target %d: float64 nll %v, want %v", tgt, n64, want)
		}
		fd := make([]float64, V)
		for _, v := range []int{0, tgt, V / 2, V - 1} {
			const h = 1e-5
			zp, zm := append([]float64(nil), z64...), append([]float64(nil), z64...)
			zp[v] += h
			zm[v] -= h
			fd[v] = 0.25 * ((lse(zp) - zp[tgt]) - (lse(zm) - zm[tgt])) / (2 * h)
			if math.Abs(float64(grad[v])-fd[v]) > 1e-6 || math.Abs(g64[v]-fd[v]) > 1e-9 {
				t.Fatalf("target %d: dz[%d] = %v (float64 %v), finite difference %v", tgt, v, grad[v], g64[v], fd[v])
			}
		}
	}
}

// TestLayerNorm checks LayerNorm and its backward (C kernels unless pure
// Go) against float64 on rows of 40 (a 16-lane tail of 8).
func TestLayerNorm(t *testing.T) {
	const N, D, eps = 7, 40, 1e-5
	x, w, b, dy := vec(31, N*D), vec(32, D), vec(33, D), vec(34, N*D)
	for i := range x {
		x[i] = 2*x[i] + 0.5
	}
	y, y64 := make([]float32, N*D), make([]float64, N*D)
	LayerNorm(x, w, b, y, D, eps)
	LayerNorm(to64(x), to64(w), to64(b), y64, D, eps)
	near(t, "y", y, y64, 1e-5)
	for _, wrtW := range []bool{false, true} {
		n := N * D
		if wrtW {
			n = D
		}
		g, gGo, g64 := make([]float32, n), vec(35, n), make([]float64, n) // gGo: stale contents
		LayerNormBackward(x, w, dy, g, D, eps, wrtW)
		layerNormBackwardGo(x, w, dy, gGo, D, eps, wrtW)
		LayerNormBackward(to64(x), to64(w), to64(dy), g64, D, eps, wrtW)
		near(t, "grad", g, g64, 1e-5)
		near(t, "grad (Go)", gGo, g64, 1e-5)
	}
	// dx against finite differences of L = Σ dy·LayerNorm(x) in float64.
	x64, w64, b64, dy64 := to64(x[:D]), to64(w), to64(b), to64(dy[:D])
	dx := make([]float64, D)
	LayerNormBackward(x64, w64, dy64, dx, D, eps, false)
	loss := func(x []float64) float64 {
		y := make([]float64, D)
		LayerNorm(x, w64, b64, y, D, eps)
		var s float64
		for i := range y {
			s += y[i] * dy64[i]
		}
		return s
	}
	for _, j := range []int{0, 13, D - 1} {
		const h = 1e-6
		xp, xm := append([]float64(nil), x64...), append([]float64(nil), x64...)
		xp[j] += h
		xm[j] -= h
		if fd := (loss(xp) - loss(xm)) / (2 * h); math.Abs(fd-dx[j]) > 1e-6*(1+math.Abs(fd)) {
			t.Fatalf("dx[%d] = %v, finite difference %v", j, dx[j], fd)
		}
	}
}

// TestVectorKernels checks ColSum, Mul, Scale and AttentionDS (C kernels
// unless pure Go) against the pure-Go versions and float64, including
// lengths that are not multiples of the 16-float lanes.
func TestVectorKernels(t *testing.T) {
	for _, n := range []int{1, 15, 16, 17, 100, 1031} {
		for _, F := range []int{1, 7, 16, 33} {
			x := vec(uint64(n*F), n*F)
			got, want := vec(1, F), make([]float64, F) // stale contents must be overwritten
			ColSum(x, got)
			for i, v := range x {
				want[i%F] += float64(v)
			}
			near(t, "ColSum", got, want, 1e-4)
		}
		a, b := vec(2, n), vec(3, n)
		got, want := make([]float32, n), make([]float64, n)
		Mul(a, b, got)
		for i := range a {
			want[i] = float64(a[i] * b[i])
		}
		near(t, "Mul", got, want, 0)
		Scale(a, got, 0.37)
		for i := range a {
			want[i] = float64(a[i] * 0.37)
		}
		near(t, "Scale", got, want, 0)
		for _, i0 := range []int{0, 3, n} {
			const ld = 1100
			rows := min(n, 40)
			p, d := vec(4, rows*ld), vec(5, rows*ld)
			for i := range p {
				p[i] = float32(math.Abs(float64(p[i])))
			}
			ncols := i0 + rows
			want := to64(d)
			AttentionDS(to64(p), want, ld, i0, rows, ncols, 0.125)
			dGo := append([]float32(nil), d...)
			AttentionDS(p, d, ld, i0, rows, ncols, 0.125)
			attentionDSGo(p, dGo, ld, i0, rows, ncols, float32(0.125))
			near(t, "AttentionDS", d, want, 1e-5)
			near(t, "AttentionDS (Go)", dGo, want, 1e-5)
		}
	}
}

// TestAdamW checks the kernel against the pure-Go update and against the
// formula in float64 over several steps, including a non-finite weight.
func TestAdamW(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 16, 37, 1000} {
		w, g, m, v := vec(uint64(n), n), make([]float32, n), make([]float32, n), make([]float32, n)
		wGo, mGo, vGo := append([]float32(nil), w...), make([]float32, n), make([]float32, n)
		w64, m64, v64 := to64(w), make([]float64, n), make([]float64, n)
		const lr, wd, b1, b2, eps = 1e-2, 0.1, 0.9, 0.95, 1e-8
		for step := 1; step <= 5; step++ {
			for i := range g {
				g[i] = float32(r.NormFloat64() * 0.1)
			}
			bc1, bc2 := 1-math.Pow(b1, float64(step)), 1-math.Pow(b2, float64(step))
			c := AdamWCoeffs{Scale: 0.5, Beta1: b1, Beta2: b2, Shrink: float32(1 - lr*wd),
				StepSize: float32(lr / bc1), InvSqrtBC2: float32(1 / math.Sqrt(bc2)), Eps: eps}
			ok, err := AdamW(w, g, m, v, c)
			if err != nil || !ok {
				t.Fatalf("n=%d step %d: AdamW = %v, %v", n, step, ok, err)
			}
			adamWGo(wGo, g, mGo, vGo, c)
			for i := range g {
				gi := 0.5 * float64(g[i])
				m64[i] = b1*m64[i] + (1-b1)*gi
				v64[i] = b2*v64[i] + (1-b2)*gi*gi
				w64[i] = w64[i]*(1-lr*wd) - lr*(m64[i]/bc1)/(math.Sqrt(v64[i]/bc2)+eps)
			}
			near(t, "AdamW vs Go", w, wGo, 1e-6)
			near(t, "AdamW vs float64", w, w64, 1e-5)
		}
		w[n-1] = float32(math.Inf(1))
		if ok, _ := AdamW(w, g, m, v, AdamWCoeffs{Scale: 1, Beta1: 0.9, Beta2: 0.95, Shrink: 1, StepSize: 1e-3, InvSqrtBC2: 1, Eps: 1e-8}); ok {
			t.Fatalf("n=%d: an infinite weight was reported finite", n)
		}
	}
	if _, err := AdamW(make([]float32, 3), make([]float32, 2), make([]float32, 3), make([]float32, 3), AdamWCoeffs{}); err == nil {
		t.Fatal("mismatched lengths were accepted")
	}
}

func TestImpl(t *testing.T) {
	if Impl != "c" && Impl != "go" {
		t.Fatalf("Impl = %q, expected c or go", Impl)
	}
}
