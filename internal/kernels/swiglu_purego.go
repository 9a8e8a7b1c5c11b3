//go:build purego

package kernels

// SwiGLU32 is [SwiGLU] for float32 (pure Go with the purego tag).
func SwiGLU32(h, y []float32, F int) { SwiGLU(h, y, F) }

// SwiGLUGrad32 is [SwiGLUGrad] for float32.
func SwiGLUGrad32(h, dy, dh []float32, F int) { SwiGLUGrad(h, dy, dh, F) }
