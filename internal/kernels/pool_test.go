package kernels

import (
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
	rnd := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
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
						p.Gemv(w, x, got, rows, cols, beta)
						if !slices.Equal(got, want) {
							t.Fatalf("pool %d: Gemv %d×%d beta %g differs from the one-thread kernel", n, rows, cols, beta)
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
						p.GemvPanels(wp, lo, rows, xh, b, got, 1)
						if !slices.Equal(got, want) {
							t.Fatalf("pool %d: GemvPanels rows [%d, %d) × %d (bias %v) differs from the one-thread kernel", n, lo, rows, cols, b != nil)
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

// TestPoolAttend: a decoding step's attention over the pool (grouped
// query heads split unevenly, three cache segments, the sink segment's
// own queries, an extra logit) equals attendGo, the same kernels on one
// goroutine, bit for bit; one segment with plain softmax too.
func TestPoolAttend(t *testing.T) {
	if Impl == "go" {
		return // no pool (TestPool checks NewPool is nil)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	rnd := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
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
		for _, n := range []int{2, 4} {
			p := NewPool(n)
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
