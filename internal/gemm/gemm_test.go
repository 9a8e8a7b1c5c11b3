package gemm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSgemmMatchesLoops: every transpose combination, leading dimensions
// wider than the rows, alpha and beta, k = 0, against float64 loops.
func TestSgemmMatchesLoops(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(rng.NormFloat64())
		}
		return s
	}
	for _, sz := range [][3]int{{5, 7, 3}, {64, 33, 70}, {1, 9, 4}, {3, 4, 0}} {
		m, n, k := sz[0], sz[1], sz[2]
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				ar, ac := m, k
				if tA {
					ar, ac = k, m
				}
				br, bc := k, n
				if tB {
					br, bc = n, k
				}
				lda, ldb, ldc := ac+2, bc+1, n+3
				a, b, c := fill(max(1, ar*lda)), fill(max(1, br*ldb)), fill(m*ldc)
				want := make([]float64, m*ldc)
				for i := range m {
					for j := range n {
						s := 0.0
						for p := range k {
							ai, bi := i*lda+p, p*ldb+j
							if tA {
								ai = p*lda + i
							}
							if tB {
								bi = j*ldb + p
							}
							av, bv := a[ai], b[bi]
							s += float64(av) * float64(bv)
						}
						want[i*ldc+j] = 1.5*s - 0.5*float64(c[i*ldc+j])
					}
				}
				Sgemm(tA, tB, m, n, k, 1.5, a, lda, b, ldb, -0.5, c, ldc)
				for i := range m {
					for j := range n {
						if d := math.Abs(float64(c[i*ldc+j]) - want[i*ldc+j]); d > 1e-4*(1+math.Abs(want[i*ldc+j])) {
							t.Fatalf("%v %v %v: c[%d,%d] = %g, want %g", sz, tA, tB, i, j, c[i*ldc+j], want[i*ldc+j])
						}
					}
				}
			}
		}
	}
}

// TestSgemvMatchesLoops: y = α·a·x + β·y and its transpose, lda > n.
func TestSgemvMatchesLoops(t *testing.T) {
	const m, n, lda = 13, 21, 24
	a := make([]float32, m*lda)
	for i := range a {
		a[i] = float32(i%11) - 5
	}
	for _, trans := range []bool{false, true} {
		nx, ny := n, m
		if trans {
			nx, ny = m, n
		}
		x, y := make([]float32, nx), make([]float32, ny)
		for i := range x {
			x[i] = float32(i) / 3
		}
		for i := range y {
			y[i] = 1
		}
		want := make([]float64, ny)
		for o := range ny {
			s := 0.0
			for i := range nx {
				if trans {
					s += float64(a[i*lda+o]) * float64(x[i])
				} else {
					s += float64(a[o*lda+i]) * float64(x[i])
				}
			}
			want[o] = 2*s + 0.25
		}
		Sgemv(trans, m, n, 2, a, lda, x, 0.25, y)
		for o, w := range want {
			if math.Abs(float64(y[o])-w) > 1e-4*(1+math.Abs(w)) {
				t.Fatalf("trans %v: y[%d] = %g, want %g", trans, o, y[o], w)
			}
		}
	}
}
