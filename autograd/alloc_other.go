//go:build !linux

package autograd

// adviseHuge does nothing outside Linux.
func adviseHuge([]float32) error { return nil }
