//go:build !unix

package study

// PeakRSSMB returns 0: peak RSS is only measured on unix systems.
func PeakRSSMB() float64 { return 0 }
