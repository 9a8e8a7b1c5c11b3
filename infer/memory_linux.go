//go:build linux

package infer

import "syscall"

// memoryBytes returns the machine's physical memory (the bound of
// CheckScore's buffer estimate).
func memoryBytes() float64 {
	var si syscall.Sysinfo_t
	if err := syscall.Sysinfo(&si); err != nil || si.Totalram == 0 {
		return memoryFallback
	}
	return float64(si.Totalram) * float64(si.Unit)
}
