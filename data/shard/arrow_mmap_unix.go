//go:build unix

package shard

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// arwMap maps path read-only into memory. The returned function unmaps it.
func Map(path string) ([]byte, func() error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	size := st.Size()
	if size == 0 {
		return nil, nil, fmt.Errorf("shard %s: empty file", path)
	}
	if !st.Mode().IsRegular() || int64(int(size)) != size {
		return nil, nil, fmt.Errorf("shard %s: not a regular file", path)
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("mmap shard %s: %w", path, err)
	}
	return b, func() error { return syscall.Munmap(b) }, nil
}

// ReleasePages drops the whole pages of part (a view into one of mappings,
// each a slice returned by Map) from the process's resident memory with
// madvise(MADV_DONTNEED): a stream read front to back then keeps only what
// it is reading resident, not every page it has read. The data stay in
// the page cache and a later read faults them back in unchanged (the
// mappings are read-only and shared), so concurrent readers are safe. A
// part inside none of the mappings (Go memory) is left alone.
func ReleasePages(mappings [][]byte, part []int32) {
	if len(part) == 0 {
		return
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(part)))
	hi := lo + uintptr(len(part))*4
	for _, m := range mappings {
		mlo := uintptr(unsafe.Pointer(unsafe.SliceData(m)))
		if lo < mlo || hi > mlo+uintptr(len(m)) {
			continue
		}
		page := uintptr(os.Getpagesize())
		a, b := (lo+page-1)&^(page-1), hi&^(page-1) // whole pages only
		if a < b {
			_ = syscall.Madvise(m[a-mlo:b-mlo], syscall.MADV_DONTNEED) // advice: a failure only keeps pages resident
		}
		return
	}
}
