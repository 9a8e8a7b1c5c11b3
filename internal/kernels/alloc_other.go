//go:build !linux

package kernels

// adviseHuge does nothing outside Linux.
func adviseHuge[T any]([]T) error { return nil }

// collapseHuge does nothing outside Linux.
func collapseHuge[T any]([]T) error { return nil }
