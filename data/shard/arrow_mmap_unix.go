//go:build unix

package shard

import (
	"fmt"
	"os"
	"syscall"
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
