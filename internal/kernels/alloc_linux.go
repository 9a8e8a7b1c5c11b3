package kernels

import (
	"syscall"
	"unsafe"
)

// adviseHuge advises the 2 MiB pages that b overlaps as MADV_HUGEPAGE.
// Rounding outwards includes the neighbouring heap memory of those pages,
// which only sets a flag on it: pages already faulted in stay as they are,
// and untouched ones are faulted in as huge pages. Errors are ignored: the
// advice is an optimisation, and a kernel without THP support leaves the
// buffer on normal pages (Alloc32 ignores the error; tests read it).
func adviseHuge(b []float32) error {
	if len(b)*4 < hugePage/8 {
		return nil
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := p &^ (hugePage - 1)
	hi := (p + uintptr(len(b))*4 + hugePage - 1) &^ (hugePage - 1)
	if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, lo, hi-lo, syscall.MADV_HUGEPAGE); e != 0 {
		return e
	}
	return nil
}
