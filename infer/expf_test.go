package infer

import (
	"math"
	"testing"
)

// TestExpf compares expf with math.Exp over the range attention uses.
func TestExpf(t *testing.T) {
	for x := -87.0; x <= 88; x += 0.0137 {
		want := math.Exp(float64(float32(x)))
		got := float64(expf(float32(x)))
		if math.Abs(got-want) > 3e-7*want {
			t.Fatalf("expf(%g) = %g, want %g", x, got, want)
		}
	}
	if expf(-200) != 0 || !math.IsInf(float64(expf(200)), 1) {
		t.Error("expf does not saturate")
	}
}
