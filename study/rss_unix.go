//go:build unix

package study

import (
	"runtime"
	"syscall"
)

// PeakRSSMB returns the process's peak resident set size in MiB
// (getrusage ru_maxrss), or 0 if unknown.
func PeakRSSMB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	if runtime.GOOS == "darwin" {
		return float64(ru.Maxrss) / (1 << 20) // bytes
	}
	return float64(ru.Maxrss) / (1 << 10) // KiB
}
