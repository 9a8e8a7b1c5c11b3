package study

import (
	"math"
	"testing"
)

// TestSinkAccum feeds synthetic rows: A[i,0] = 1/2 for i ≥ 1 (A[0,0] = 1),
// the rest spread uniformly over keys 1..i; so α_0 = (1 + (T−1)/2)/T, and
// for k ≥ 1, α_k = mean_{i≥k} 1/(2i).
func TestSinkAccum(t *testing.T) {
	const L, H, T = 2, 3, 20
	a := newSinkAccum(L, H, T)
	for l := range L {
		for h := range H {
			for i := range T {
				row := make([]float32, i+1)
				row[0] = 1
				if i > 0 {
					row[0] = 0.5
					for j := 1; j <= i; j++ {
						row[j] = 0.5 / float32(i)
					}
				}
				if l == 1 && h == 2 { // one head without a sink: uniform
					for j := range row {
						row[j] = 1 / float32(i+1)
					}
				}
				if err := a.add(l, h, i, row); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	s, err := a.stats(0.3)
	if err != nil {
		t.Fatal(err)
	}
	want0 := (1 + float64(T-1)/2) / T
	if got := s.Alpha[0][0][0]; math.Abs(got-want0) > 1e-6 {
		t.Errorf("α_0 = %v, want %v", got, want0)
	}
	for k := 1; k < SinkPositions; k++ {
		var w float64
		for i := k; i < T; i++ {
			w += 0.5 / float64(i)
		}
		w /= float64(T - k)
		if got := s.Alpha[1][1][k]; math.Abs(got-w) > 1e-6 {
			t.Errorf("α_%d = %v, want %v", k, got, w)
		}
	}
	if got, want := s.SinkRate[0], 5.0/6; math.Abs(got-want) > 1e-12 {
		t.Errorf("Sink_0 = %v, want %v (5 of 6 heads)", got, want)
	}
	if s.SinkRate[1] != 0 {
		t.Errorf("Sink_1 = %v, want 0", s.SinkRate[1])
	}
	if math.Abs(s.RowSumMin-1) > 1e-6 || math.Abs(s.RowSumMax-1) > 1e-6 {
		t.Errorf("row sums in [%v, %v], want 1", s.RowSumMin, s.RowSumMax)
	}
	if n := len(s.Heatmap[0]); n != T {
		t.Errorf("heatmap side %d, want %d", n, T)
	}
	if got, want := s.Heatmap[1][0][0], 1.0; got != want {
		t.Errorf("heatmap[1][0][0] = %v, want %v", got, want)
	}
	if err := a.add(0, 0, 5, make([]float32, 3)); err == nil {
		t.Error("a row of the wrong length was accepted")
	}
}

func TestSinkAccumMissingRows(t *testing.T) {
	a := newSinkAccum(1, 1, 3)
	_ = a.add(0, 0, 0, []float32{1})
	if _, err := a.stats(0.3); err == nil {
		t.Error("stats with missing rows succeeded")
	}
}
