//go:build purego

package kernels

// RMSNorm32 is [RMSNorm] for float32 (pure Go with the purego tag).
func RMSNorm32(x, w, y []float32, D int, eps float64) { RMSNorm(x, w, y, D, eps) }

// RMSNormGradX32 is [RMSNormGradX] for float32.
func RMSNormGradX32(x, w, dy, dx []float32, D int, eps float64) { RMSNormGradX(x, w, dy, dx, D, eps) }

// RMSNormGradW32 is [RMSNormGradW] for float32.
func RMSNormGradW32(x, dy, dw []float32, D int, eps float64) { RMSNormGradW(x, dy, dw, D, eps) }
