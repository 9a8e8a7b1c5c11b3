package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestPool: products split over a pool equal the one-thread kernels bit
// for bit (every row is computed by the same kernel), for row counts below,
// at and above the parts' 16-row blocks, with and without bias and beta,
// one product after another (helpers spinning) and after a pause (helpers
// asleep: the futex wake). In the pure-Go build NewPool is nil.
func TestPool(t *testing.T) {
	if Impl == "go" {
		if NewPool(4) != nil {
			t.Fatal("NewPool in the pure-Go build is not nil")
		}
		return
	}
	rng := rand.New(rand.NewPCG(9, 10))
	rnd := func(n int) []float32 { return normals(rng, n) }
	if NewPool(1) != nil {
		t.Error("NewPool(1) is not nil")
	}
	for _, n := range []int{2, 3, 5} {
		p := NewPool(n)
		if p == nil || p.Size() != n {
			t.Fatalf("NewPool(%d) = %v", n, p)
		}
		for round := range 3 {
			for _, rows := range []int{1, 15, 16, 17, 100, 1000} {
				for _, cols := range []int{7, 64, 300} {
					w, x, y0 := rnd(rows*cols), rnd(cols), rnd(rows)
					for _, beta := range []float32{0, 1} {
						want, got := slices.Clone(y0), slices.Clone(y0)
						Gemv(w, x, want, rows, cols, beta)
						one := [3]Matrix{{W: w, Y: got, Rows: rows}}
						p.GemvN(&one, 1, x, cols, beta)
						if !slices.Equal(got, want) {
							t.Fatalf("pool %d: GemvN %d×%d beta %g differs from the one-thread kernel", n, rows, cols, beta)
						}
					}
					wp := PackPanels(w, rows, cols)
					xh := make([]BF16, PairCols(cols))
					RoundBF16(x, xh)
					bias := rnd(rows)
					lo := rows / 32 * 16
					for _, b := range [][]float32{nil, bias[lo:]} {
						want, got := slices.Clone(y0[lo:]), slices.Clone(y0[lo:])
						GemvPanels(wp, lo, rows, xh, b, want, 1)
						one := [3]Matrix{{P: wp.Sub(lo, rows), Bias: b, Y: got}}
						p.GemvPanelsN(&one, 1, xh, 1)
						if !slices.Equal(got, want) {
							t.Fatalf("pool %d: GemvPanelsN rows [%d, %d) × %d (bias %v) differs from the one-thread kernel", n, lo, rows, cols, b != nil)
						}
					}
				}
			}
			if round == 1 {
				time.Sleep(5 * time.Millisecond) // the helpers go to sleep
			}
		}
		p.Close()
	}
}

// TestPoolN: one product of x by up to three matrices (a layer's q, k and
// v; gate and up) equals each matrix's one-thread product bit for bit,
// float32 and bfloat16 panels (with and without bias), the stacked rows'
// parts falling inside and across the matrices; panel matrices whose rows
// do not stack on whole panels are multiplied one by one.
func TestPoolN(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	p := NewPool(3)
	if Impl == "go" {
		if p != nil {
			t.Fatal("NewPool in the pure-Go build is not nil")
		}
		p = &Pool{} // the pure-Go methods: one product each
	} else {
		defer p.Close()
	}
	for _, shape := range [][]int{{576, 192, 192}, {1536, 1536}, {48, 32, 21}, {7}, {40, 5, 100}, {32, 0, 48}} {
		const cols = 64
		x := normals(rng, cols)
		xh := make([]BF16, PairCols(cols))
		RoundBF16(x, xh)
		var mf, mp [3]Matrix
		var wantF, wantP [3][]float32
		aligned := true
		for i, r := range shape {
			w := normals(rng, r*cols)
			y0 := normals(rng, r)
			mf[i] = Matrix{W: w, Y: slices.Clone(y0), Rows: r}
			wantF[i] = slices.Clone(y0)
			Gemv(w, x, wantF[i], r, cols, 1)
			var bias []float32
			if i != 1 {
				bias = normals(rng, r)
			}
			mp[i] = Matrix{P: PackPanels(w, r, cols), Bias: bias, Y: slices.Clone(y0)}
			wantP[i] = slices.Clone(y0)
			GemvPanels(mp[i].P, 0, r, xh, bias, wantP[i], 0)
			aligned = aligned && (i == len(shape)-1 || r%PanelRows == 0)
		}
		p.GemvN(&mf, len(shape), x, cols, 1)
		p.GemvPanelsN(&mp, len(shape), xh, 0)
		for i := range shape {
			if !slices.Equal(mf[i].Y, wantF[i]) {
				t.Fatalf("rows %v: GemvN matrix %d differs from its one-thread product", shape, i)
			}
			if !slices.Equal(mp[i].Y, wantP[i]) {
				t.Fatalf("rows %v (stacked on whole panels: %v): GemvPanelsN matrix %d differs from its one-thread product", shape, aligned, i)
			}
		}
	}
}

// TestPoolAttend: a decoding step's attention (grouped query heads, three
// cache segments, the sink segment's own queries, an extra logit; one
// segment with plain softmax) by attendGo against float64 sums, and over
// the pool (query heads split unevenly) equal to attendGo bit for bit.
func TestPoolAttend(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	rnd := func(n int) []float32 { return normals(rng, n) }
	const H, KV, hd, cp = 9, 3, 64, 50
	for _, c := range []struct {
		segs  [3][2]int
		nseg  int
		sink  [3]bool
		extra bool
	}{{[3][2]int{{0, 4}, {20, 50}, {4, 19}}, 3, [3]bool{true}, true}, {[3][2]int{{0, 37}}, 1, [3]bool{}, false}} {
		a := Attention{Q: rnd(H * hd), QSink: rnd(H * hd), K: rnd(KV * cp * hd), V: rnd(KV * cp * hd),
			H: H, KV: KV, HeadDim: hd, Cap: cp, Segs: c.segs, SinkSeg: c.sink, NSeg: c.nseg, Scale: 0.125, HasExtra: c.extra}
		if c.extra {
			a.Extra = rnd(H)
		}
		want := a
		want.Scores, want.Out = make([]float32, H*cp), make([]float32, H*hd)
		attendGo(&want)
		for h := range H {
			g := h / (H / KV)
			var slots []int
			var logits []float64
			for i := range c.nseg {
				q := a.Q
				if c.sink[i] {
					q = a.QSink
				}
				for j := c.segs[i][0]; j < c.segs[i][1]; j++ {
					dot := 0.0
					for d := range hd {
						dot += float64(q[h*hd+d]) * float64(a.K[(g*cp+j)*hd+d])
					}
					slots, logits = append(slots, j), append(logits, 0.125*dot)
				}
			}
			mx, sum := math.Inf(-1), 0.0
			for _, l := range logits {
				mx = math.Max(mx, l)
			}
			if c.extra {
				mx = math.Max(mx, float64(a.Extra[h]))
				sum = math.Exp(float64(a.Extra[h]) - mx)
			}
			for _, l := range logits {
				sum += math.Exp(l - mx)
			}
			for d := range hd {
				o := 0.0
				for i, j := range slots {
					o += math.Exp(logits[i]-mx) / sum * float64(a.V[(g*cp+j)*hd+d])
				}
				if e := math.Abs(float64(want.Out[h*hd+d]) - o); e > 1e-5 {
					t.Fatalf("%d segments: attendGo head %d dim %d = %g, want %g", c.nseg, h, d, want.Out[h*hd+d], o)
				}
			}
		}
		for _, n := range []int{2, 4} {
			p := NewPool(n)
			if p == nil {
				if Impl == "c" {
					t.Fatalf("NewPool(%d) is nil in the cgo build", n)
				}
				continue // the pure-Go build has no pool (TestPool checks NewPool is nil)
			}
			got := a
			got.Scores, got.Out = make([]float32, H*cp), rnd(H*hd)
			p.Attend(&got)
			p.Close()
			if !slices.Equal(got.Out, want.Out) {
				t.Fatalf("%d segments, pool %d: attention differs from one goroutine's", c.nseg, n)
			}
		}
	}
}
