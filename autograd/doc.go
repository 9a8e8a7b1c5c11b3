// Package autograd holds sinktrain's fused, differentiable gorgonia ops: one
// op per file, each with its forward kernel, a backward built from further
// ops of this package (gorgonia's SDOp.SymDiff, so TapeMachine can
// differentiate it), the formula in its doc comment, and a float64
// finite-difference test through [CheckGrad].
//
// All ops accept float32 and float64 tensors. Matrix products go through
// [BLAS]: OpenBLAS (cgo, -lopenblas) by default, gonum's pure-Go BLAS without
// cgo (CGO_ENABLED=0) or with the purego tag. Every other float loop is a
// kernel of internal/kernels (C for float32 unless pure Go; the float64
// path, which the finite-difference checks use, in Go).
//
// Ops keep their output buffers and the few intermediates their backward
// needs (for example attention probabilities) inside the op value, so an op
// belongs to exactly one graph and one machine; build one graph per
// goroutine.
//
// autograd imports gorgonia, gonum and internal/kernels; it must not import
// any other sinktrain package.
package autograd
