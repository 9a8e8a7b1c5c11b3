package autograd

import (
	"sync"

	G "gorgonia.org/gorgonia"
)

// SetThreads makes every op of this package in g split its work over n
// goroutines (n ≤ 1: the calling goroutine only): matrix products by rows
// of the result (each part one single-threaded OpenBLAS call), attention by
// batch row and head (by kv group in the backward), GELU by elements. Every
// output element is computed by the same code, in the same order, whatever
// n is. It is for graphs that run side by side, a few cores each: OpenBLAS's
// own threads serve one caller at a time, so several graphs calling it with
// n threads each queue on its pool (measured on a 16-core Xeon: 8 graphs ×
// 2 OpenBLAS threads trained at half the speed of 8 × 1). Call it after the
// graph (and its gradient) is built, before it runs.
func SetThreads(g *G.ExprGraph, n int) {
	for _, node := range g.AllNodes() {
		if op, ok := node.Op().(interface{ setThreads(int) }); ok {
			op.setThreads(n)
		}
	}
}

// parallel calls f(part, lo, hi) on the parts of [0, n) cut into at most p
// ranges whose bounds are multiples of grain (but n), each part but the last
// on its own goroutine, and returns when all are done. part counts from 0.
func parallel(p, n, grain int, f func(part, lo, hi int)) {
	grain = max(1, grain)
	units := (n + grain - 1) / grain
	p = max(1, min(p, units))
	if p == 1 {
		f(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	for i := range p {
		lo, hi := min(n, i*units/p*grain), min(n, (i+1)*units/p*grain)
		if i == p-1 {
			f(i, lo, hi)
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i, lo, hi)
		}()
	}
	wg.Wait()
}

// elemGrain is the element granularity of a split elementwise op (a
// multiple of the kernels' vector width).
const elemGrain = 4096

// minSplitMACs is the smallest part (m·n·k multiply-adds) of a product
// gemmPar splits. Above 100³ multiply-adds OpenBLAS uses its blocked
// kernels, whose sums do not depend on where the rows or columns are cut;
// below, its small-matrix kernels (AVX-512 builds) add in another order,
// so a part of a product that small would change the product's rounding.
// Starting a goroutine also costs about what a product of 10⁵ does.
const minSplitMACs = 1 << 20

// gemmRows is the row granularity of a split product: OpenBLAS's AVX-512
// sgemm kernels work on 16 rows at a time.
const gemmRows = 16

// gemmPar is [gemm] on p goroutines: rows of C in parts of whole multiples
// of gemmRows, or columns when C has too few rows. Each part is one call
// over the whole inner dimension, so C's elements are the sums a single
// call computes. prep, when not nil, is called on C's rows [lo, hi) before
// their product (on the part's goroutine when the product is split by rows,
// else once for all rows): it fills C for beta ≠ 0.
func gemmPar[T Float](p int, tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int, prep func(lo, hi int)) {
	p = min(p, m*n*k/minSplitMACs) // every part at least minSplitMACs
	if p > 1 && m >= p*gemmRows {
		parallel(p, m, gemmRows, func(_, lo, hi int) {
			if prep != nil {
				prep(lo, hi)
			}
			ao := lo * lda
			if tA {
				ao = lo
			}
			gemm(tA, tB, hi-lo, n, k, alpha, a[ao:], lda, b, ldb, beta, c[lo*ldc:], ldc)
		})
		return
	}
	if prep != nil {
		prep(0, m)
	}
	if p <= 1 {
		gemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	parallel(p, n, gemmRows, func(_, lo, hi int) {
		bo := lo
		if tB {
			bo = lo * ldb
		}
		gemm(tA, tB, m, hi-lo, k, alpha, a, lda, b[bo:], ldb, beta, c[lo:], ldc)
	})
}
