package kernels

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"
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

// TestHuge: a filled buffer keeps its values and its whole 2 MiB pages
// end up on huge pages (AnonHugePages of its mappings in /proc/self/smaps).
// The buffer is a mapping of its own, not Go heap memory, which earlier
// advice (Alloc32's, rounded outwards) may already have put on huge pages.
func TestHuge(t *testing.T) {
	mem, err := syscall.Mmap(-1, 0, 5*hugePage, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(mem)
	all := unsafe.Slice((*float32)(unsafe.Pointer(&mem[0])), len(mem)/4)
	b := all[12345:] // 4 whole pages at least, unaligned
	for i := range b {
		b[i] = float32(i%977) * 0.5
	}
	err = Huge(b)
	for try := 0; try < 3 && errors.Is(err, syscall.EAGAIN); try++ {
		err = Huge(b) // no huge page free at once (memory in use by the packages tested beside): again
	}
	for i, v := range b {
		if v != float32(i%977)*0.5 {
			t.Fatalf("Huge changed b[%d]: %v", i, v)
		}
	}
	if runtime.GOOS != "linux" {
		if err != nil {
			t.Fatalf("Huge outside Linux: %v, expected nil", err)
		}
		return
	}
	mode, rerr := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if rerr != nil || strings.Contains(string(mode), "[never]") {
		t.Skipf("transparent huge pages are not enabled on this kernel (%q, %v)", strings.TrimSpace(string(mode)), rerr)
	}
	if err != nil {
		t.Fatalf("Huge: %v (MADV_COLLAPSE needs Linux 6.1+)", err)
	}
	lo := uintptr(unsafe.Pointer(&b[0]))
	if kb := anonHugeKB(t, lo, lo+uintptr(4*len(b))); kb < 3*hugePage/1024 {
		t.Fatalf("the mappings of b have %d KiB on huge pages, expected ≥ %d", kb, 3*hugePage/1024)
	}
	if err := Huge(b[:100]); err != nil {
		t.Fatalf("Huge of a buffer without a whole page: %v, expected nil (nothing to do)", err)
	}
}

// anonHugeKB returns the AnonHugePages of the mappings overlapping [lo,
// hi) (the advice splits the heap's mapping where it starts and ends).
func anonHugeKB(t *testing.T, lo, hi uintptr) int {
	t.Helper()
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	in, total, found := false, 0, false
	for _, line := range strings.Split(string(smaps), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") {
			var a, b uintptr
			if _, err := fmt.Sscanf(f[0], "%x-%x", &a, &b); err == nil {
				in = a < hi && b > lo
				found = found || in
			}
			continue
		}
		if in && len(f) >= 2 && f[0] == "AnonHugePages:" {
			kb, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatalf("smaps: %q", line)
			}
			total += kb
		}
	}
	if !found {
		t.Fatalf("no mapping holds [%#x, %#x) in /proc/self/smaps", lo, hi)
	}
	return total
}
