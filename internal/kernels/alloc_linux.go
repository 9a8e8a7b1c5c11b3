package kernels

import (
	"syscall"
	"unsafe"
)

// madvCollapse is Linux's MADV_COLLAPSE (6.1+), which syscall lacks.
const madvCollapse = 25

// adviseHuge advises the 2 MiB pages that b overlaps as MADV_HUGEPAGE.
// Rounding outwards includes the neighbouring heap memory of those pages,
// which only sets a flag on it: pages already faulted in stay as they are,
// and untouched ones are faulted in as huge pages. Errors are ignored: the
// advice is an optimisation, and a kernel without THP support leaves the
// buffer on normal pages (Alloc32 ignores the error; tests read it).
func adviseHuge[T any](b []T) error {
	size := len(b) * int(unsafe.Sizeof(*new(T)))
	if size < hugePage/8 {
		return nil
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := p &^ (hugePage - 1)
	hi := (p + uintptr(size) + hugePage - 1) &^ (hugePage - 1)
	return madvise(lo, hi-lo, syscall.MADV_HUGEPAGE)
}

// collapseHuge moves the whole 2 MiB pages inside b, already faulted in,
// onto transparent huge pages now (MADV_COLLAPSE copies them: the values
// stay). Rounding inwards leaves the neighbouring heap memory alone.
func collapseHuge[T any](b []T) error {
	size := len(b) * int(unsafe.Sizeof(*new(T)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := (p + hugePage - 1) &^ (hugePage - 1)
	hi := (p + uintptr(size)) &^ (hugePage - 1)
	if hi <= lo {
		return nil
	}
	if err := madvise(lo, hi-lo, syscall.MADV_HUGEPAGE); err != nil {
		return err
	}
	return madvise(lo, hi-lo, madvCollapse)
}

func madvise(p, n uintptr, advice int) error {
	if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, p, n, uintptr(advice)); e != 0 {
		return e
	}
	return nil
}
