package kernels

import (
	"os"
	"runtime"
	"strings"
	"testing"
)

func TestAlloc32(t *testing.T) {
	for _, n := range []int{0, 1, 1000, hugePage/32 + 3, 3*hugePage + 5} {
		b := Alloc32(n)
		if len(b) != n {
			t.Fatalf("Alloc32(%d): len %d", n, len(b))
		}
		for i, v := range b {
			if v != 0 {
				t.Fatalf("Alloc32(%d)[%d] = %v, expected 0", n, i, v)
			}
		}
		for i := range b {
			b[i] = float32(i)
		}
		if n > 0 && b[n-1] != float32(n-1) {
			t.Fatalf("Alloc32(%d): last element not writable", n)
		}
	}
	if b := Alloc[float64](7); len(b) != 7 {
		t.Fatalf("Alloc[float64](7): len %d", len(b))
	}
	if b := Alloc[float32](9); len(b) != 9 {
		t.Fatalf("Alloc[float32](9): len %d", len(b))
	}
}

// TestAdviseHuge checks that the kernel accepts the advice where THP is
// enabled (it is an error where THP is compiled out; Alloc32 ignores it).
func TestAdviseHuge(t *testing.T) {
	if runtime.GOOS != "linux" {
		if err := adviseHuge(make([]float32, 4*hugePage)); err != nil {
			t.Fatalf("adviseHuge outside Linux: %v, expected nil", err)
		}
		return
	}
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || strings.Contains(string(mode), "[never]") {
		t.Skipf("transparent huge pages are not enabled on this kernel (%q, %v)", strings.TrimSpace(string(mode)), err)
	}
	for _, n := range []int{hugePage / 8, hugePage/4 + 1, 5 * hugePage} {
		if err := adviseHuge(make([]float32, n)); err != nil {
			t.Fatalf("adviseHuge(%d floats): %v", n, err)
		}
	}
	if err := adviseHuge(make([]float32, 3)); err != nil {
		t.Fatalf("adviseHuge of a small buffer: %v, expected nil (not advised)", err)
	}
}
