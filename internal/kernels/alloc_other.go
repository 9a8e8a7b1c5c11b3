//go:build !linux

package kernels

// adviseHuge does nothing outside Linux.
func adviseHuge([]float32) error { return nil }
