//go:build !unix

package shard

import (
	"fmt"
	"os"
)

// arwMap reads path into memory (no mmap on this platform).
func Map(path string) ([]byte, func() error, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	if len(b) == 0 {
		return nil, nil, fmt.Errorf("shard %s: empty file", path)
	}
	return b, func() error { return nil }, nil
}

// ReleasePages does nothing here: Map read the files into Go memory.
func ReleasePages(mappings [][]byte, part []int32) {}
