//go:build !linux

package infer

// memoryBytes returns the bound of CheckScore's buffer estimate where the
// physical memory is not read: memoryFallback.
func memoryBytes() float64 { return memoryFallback }
