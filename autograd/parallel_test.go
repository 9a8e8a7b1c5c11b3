package autograd

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestParallelParts: parallel cuts [0, n) into at most p contiguous parts
// whose inner bounds are multiples of grain, numbered in order.
func TestParallelParts(t *testing.T) {
	for _, c := range []struct{ p, n, grain, parts int }{
		{1, 100, 16, 1}, {3, 100, 16, 3}, {8, 100, 16, 7}, {4, 64, 16, 4}, {4, 10, 16, 1}, {5, 5, 1, 5}, {3, 0, 1, 1},
	} {
		var mu sync.Mutex
		got := map[int][2]int{}
		parallel(c.p, c.n, c.grain, func(part, lo, hi int) {
			mu.Lock()
			defer mu.Unlock()
			got[part] = [2]int{lo, hi}
		})
		if len(got) != c.parts {
			t.Errorf("parallel(%d, %d, %d): %d parts, want %d", c.p, c.n, c.grain, len(got), c.parts)
		}
		next := 0
		for i := range len(got) {
			r, ok := got[i]
			if !ok || r[0] != next || r[1] < r[0] || (r[1] != c.n && r[1]%c.grain != 0) {
				t.Fatalf("parallel(%d, %d, %d): part %d = %v after %d (parts %v)", c.p, c.n, c.grain, i, r, next, got)
			}
			next = r[1]
		}
		if next != c.n {
			t.Errorf("parallel(%d, %d, %d) covers [0, %d)", c.p, c.n, c.grain, next)
		}
	}
}

// TestGemmParSameProducts: a product split over goroutines, by rows or (few
// rows) by columns of the result, with every transposition, equals the one
// call bit for bit, also on sub-matrices (leading dimensions larger than
// the width). Every case is large enough to be split. gonum's pure-Go sgemm
// (the purego build) blocks its inner sums by the size of the call: there
// the parts agree within k·1e-6 (k unit-normal products per element).
func TestGemmParSameProducts(t *testing.T) {
	tol := float32(0)
	if BLASName() == "gonum" {
		tol = 1e-6
	}
	r := rand.New(rand.NewPCG(1, 2))
	rnd := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v
	}
	for _, sh := range [][3]int{{300, 128, 64}, {256, 256, 256}, {64, 176, 300}, {64, 64, 600}, {352, 64, 300}, {40, 512, 200}, {17, 1000, 130}} {
		m, n, k := sh[0], sh[1], sh[2]
		for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			ar, ac := m, k
			if tr[0] {
				ar, ac = k, m
			}
			br, bc := k, n
			if tr[1] {
				br, bc = n, k
			}
			lda, ldb, ldc := ac+3, bc+1, n+5
			a, b := rnd(ar*lda), rnd(br*ldb)
			c0 := rnd(m * ldc)
			want := slices.Clone(c0)
			gemm(tr[0], tr[1], m, n, k, 0.5, a, lda, b, ldb, 1, want, ldc)
			for _, p := range []int{2, 3, 8} {
				if min(p, m*n*k/minSplitMACs) < 2 {
					t.Fatalf("%d×%d×%d is not split", m, n, k)
				}
				got := slices.Clone(c0)
				gemmPar(p, tr[0], tr[1], m, n, k, 0.5, a, lda, b, ldb, 1, got, ldc, nil)
				for i := range got {
					if d := got[i] - want[i]; max(d, -d) > tol*float32(k) {
						t.Errorf("%d×%d×%d transposed %v on %d goroutines: c[%d] = %v, one call %v", m, n, k, tr, p, i, got[i], want[i])
						break
					}
				}
			}
		}
	}
}

// TestSetThreads: SetThreads reaches every op of the graph, the gradient
// ops made by Grad included.
func TestSetThreads(t *testing.T) {
	g := G.NewGraph()
	x := G.NewMatrix(g, tensor.Float32, G.WithShape(4, 3), G.WithName("x"), G.WithInit(G.Gaussian(0, 1)))
	w := G.NewMatrix(g, tensor.Float32, G.WithShape(5, 3), G.WithName("w"), G.WithInit(G.Gaussian(0, 1)))
	y, err := Linear(x, w, nil)
	if err != nil {
		t.Fatal(err)
	}
	y, err = GELU(y)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := G.Sum(y)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := G.Grad(loss, x, w); err != nil {
		t.Fatal(err)
	}
	SetThreads(g, 3)
	ops := 0
	for _, n := range g.AllNodes() {
		if o, ok := n.Op().(interface{ par() int }); ok {
			ops++
			if o.par() != 3 {
				t.Errorf("%s: %d threads, want 3", n.Name(), o.par())
			}
		}
	}
	if ops < 5 { // Linear, GELU and the gradients of Linear (2) and GELU
		t.Errorf("%d ops of this package in the graph", ops)
	}
}
