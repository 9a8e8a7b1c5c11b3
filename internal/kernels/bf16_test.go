package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRoundBF16: nearest even, ties to even, NaN stays NaN, infinities and
// the largest finite values as checkpoint.Float32ToBF16 rounds them; the
// kernel in use equals the Go one on random values.
func TestRoundBF16(t *testing.T) {
	for _, c := range []struct {
		in   uint32
		want BF16
	}{
		{0x3f800000, 0x3f80}, // 1
		{0x3f808000, 0x3f80}, // tie, even stays
		{0x3f818000, 0x3f82}, // tie, odd rounds up
		{0x3f808001, 0x3f81}, // above the tie
		{0x7f800000, 0x7f80}, // +Inf
		{0xff800000, 0xff80}, // −Inf
		{0x7f7fffff, 0x7f80}, // the largest float32 rounds to +Inf
		{0x7fc00001, 0x7fc0}, // NaN
		{0x7f800001, 0x7fc0}, // signalling NaN → quiet
		{0x80000000, 0x8000}, // −0
	} {
		src := []float32{math.Float32frombits(c.in)}
		dst := []BF16{0}
		RoundBF16(src, dst)
		if dst[0] != c.want || roundBF16(src[0]) != c.want {
			t.Errorf("RoundBF16(%#x) = %#x (Go %#x), want %#x", c.in, dst[0], roundBF16(src[0]), c.want)
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	src := make([]float32, 1000)
	for i := range src {
		src[i] = math.Float32frombits(rng.Uint32())
	}
	got, want := make([]BF16, len(src)), make([]BF16, len(src))
	RoundBF16(src, got)
	roundBF16Go(src, want)
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("RoundBF16(%#x) = %#x, Go %#x", math.Float32bits(src[i]), got[i], want[i])
		}
	}
}

// randomPanels returns a random [rows, cols] matrix rounded to bfloat16,
// packed and as float64.
func randomPanels(t *testing.T, rng *rand.Rand, rows, cols int) (Panels, []float64) {
	m := make([]float32, rows*cols)
	wide := make([]float64, rows*cols)
	for i := range m {
		m[i] = float32(rng.NormFloat64())
		wide[i] = float64(fromBF16(roundBF16(m[i])))
	}
	return PackPanels(m, rows, cols), wide
}

// TestPackPanels: Row gives back every row rounded, and the pads are zero.
func TestPackPanels(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sh := range [][2]int{{1, 1}, {15, 2}, {16, 7}, {17, 64}, {40, 101}} {
		rows, cols := sh[0], sh[1]
		p, wide := randomPanels(t, rng, rows, cols)
		if want := (rows + 15) / 16 * 16 * PairCols(cols); len(p.Data) != want {
			t.Fatalf("%v: %d values, want %d", sh, len(p.Data), want)
		}
		nonzero := 0
		for _, h := range p.Data {
			if h != 0 {
				nonzero++
			}
		}
		if nonzero != rows*cols { // N(0,1) values are never 0 in bfloat16
			t.Fatalf("%v: %d non-zero values, want %d (pads must be zero)", sh, nonzero, rows*cols)
		}
		row := make([]float32, cols)
		for r := range rows {
			p.Row(r, row)
			for j, v := range row {
				if float64(v) != wide[r*cols+j] {
					t.Fatalf("%v: row %d col %d = %g, want %g", sh, r, j, v, wide[r*cols+j])
				}
			}
		}
	}
}

// TestPanelProducts: GemvPanels and GemmPanels (the kernel in use, the
// widening C kernel and the Go one) against float64 sums of the same
// bfloat16 values, for whole and partial panels, odd columns, row ranges
// starting at a later panel, every tile remainder of the matrix product,
// beta 0 and 1, with and without a bias. The float32 sums reach 1e-7 of (assert 5e-7) Σ|products| here.
func TestPanelProducts(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	type gemm func(x []BF16, ldx, T int, w []BF16, rows, kp int, bias, y []float32, ldy int, beta float32)
	kernel := func(widen bool) gemm {
		return func(x []BF16, ldx, T int, w []BF16, rows, kp int, bias, y []float32, ldy int, beta float32) {
			if T == 1 {
				gemvPanels32(w, x, bias, y, rows, kp, beta, widen)
				return
			}
			gemmPanels32(x, ldx, T, w, rows, kp, bias, y, ldy, beta, widen)
		}
	}
	kinds := map[string]gemm{"auto": kernel(false), "widen": kernel(true), "go": gemmPanelsGo}
	worst := 0.0
	for _, sh := range [][3]int{{1, 1, 1}, {16, 7, 1}, {17, 64, 1}, {50, 101, 1}, {100, 256, 1}, {20, 9, 3}, {49, 64, 8}, {97, 130, 13}, {160, 48, 17}} {
		rows, cols, T := sh[0], sh[1], sh[2]
		w, wide := randomPanels(t, rng, rows, cols)
		ldx := PairCols(cols) + 2
		x := make([]BF16, T*ldx)
		xf := make([]float32, cols)
		for r := range T {
			for j := range xf {
				xf[j] = float32(rng.NormFloat64())
			}
			RoundBF16(xf, x[r*ldx:])
		}
		for _, lo := range []int{0, 16} {
			if lo >= rows {
				continue
			}
			for _, c := range []struct {
				beta float32
				bias bool
			}{{0, false}, {1, false}, {0, true}, {1, true}} {
				beta := c.beta
				var bias []float32
				if c.bias {
					bias = make([]float32, rows-lo)
					for i := range bias {
						bias[i] = float32(rng.NormFloat64())
					}
				}
				ldy := rows + 3
				want := make([]float64, T*ldy)
				bound := make([]float64, T*ldy)
				for tt := range T {
					for r := lo; r < rows; r++ {
						s, a := 0.0, 0.0
						for j := range cols {
							p := wide[r*cols+j] * float64(fromBF16(x[tt*ldx+j]))
							s += p
							a += math.Abs(p)
						}
						if bias != nil {
							s += float64(bias[r-lo])
							a += math.Abs(float64(bias[r-lo]))
						}
						want[tt*ldy+r-lo] = s + float64(beta)*0.5
						bound[tt*ldy+r-lo] = a + 0.5
					}
				}
				for name, f := range kinds {
					y := make([]float32, T*ldy)
					for i := range y {
						y[i] = 0.5
					}
					f(x, ldx, T, w.panel(lo, rows), rows-lo, PairCols(cols)/2, bias, y, ldy, beta)
					for tt := range T {
						for i := range ldy {
							v, g := want[tt*ldy+i], float64(y[tt*ldy+i])
							if i >= rows-lo {
								v = 0.5 // beyond the rows asked for: untouched
							}
							e := math.Abs(g-v) / (bound[tt*ldy+i] + 1e-30)
							if i < rows-lo {
								worst = max(worst, e)
							}
							if (i >= rows-lo && g != v) || e > 5e-7 {
								t.Fatalf("%s %v lo %d %+v: y[%d][%d] = %g, want %g", name, sh, lo, c, tt, i, g, v)
							}
						}
					}
				}
			}
		}
	}
	t.Logf("worst error %.2g of Σ|products| (BF16Dot %v)", worst, BF16Dot())
	y := make([]float32, 16)
	w, _ := randomPanels(t, rng, 16, 4)
	for i, bad := range []func(){
		func() { GemvPanels(w, 3, 16, make([]BF16, 4), nil, y, 0) },                 // lo inside a panel
		func() { GemvPanels(w, 0, 17, make([]BF16, 4), nil, y, 0) },                 // beyond the rows
		func() { GemvPanels(w, 0, 16, make([]BF16, 3), nil, y, 0) },                 // x too short
		func() { GemvPanels(w, 0, 16, make([]BF16, 4), make([]float32, 15), y, 0) }, // bias too short
		func() { GemmPanels(make([]BF16, 7), 4, 2, w, 0, 16, nil, y, 8, 0) },        // y too short for 2 rows
	} {
		if !panics(bad) {
			t.Errorf("bad shape %d accepted", i)
		}
	}
}

func panics(f func()) (p bool) {
	defer func() { p = recover() != nil }()
	f()
	return false
}

// TestPanelsSub: rows [lo, hi) of a panel matrix, as a matrix of their
// own, hold the same values and multiply as those rows do.
func TestPanelsSub(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	const rows, cols = 70, 33
	m := normals(rng, rows*cols)
	p := PackPanels(m, rows, cols)
	x := make([]BF16, PairCols(cols))
	RoundBF16(normals(rng, cols), x)
	for _, r := range [][2]int{{0, 70}, {16, 40}, {32, 70}, {64, 65}} {
		s := p.Sub(r[0], r[1])
		if s.Rows != r[1]-r[0] || s.Cols != cols {
			t.Fatalf("Sub(%d, %d): %d×%d", r[0], r[1], s.Rows, s.Cols)
		}
		a, b := make([]float32, cols), make([]float32, cols)
		for i := range s.Rows {
			p.Row(r[0]+i, a)
			s.Row(i, b)
			if !slices.Equal(a, b) {
				t.Fatalf("Sub(%d, %d) row %d differs from row %d", r[0], r[1], i, r[0]+i)
			}
		}
		want, got := make([]float32, s.Rows), make([]float32, s.Rows)
		GemvPanels(p, r[0], r[1], x, nil, want, 0)
		GemvPanels(s, 0, s.Rows, x, nil, got, 0)
		if !slices.Equal(got, want) {
			t.Fatalf("Sub(%d, %d): its product differs from the rows'", r[0], r[1])
		}
	}
}
