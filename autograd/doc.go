// Package autograd holds sinktrain's fused, differentiable gorgonia ops: one
// op per file, each with its forward kernel, a backward built from further
// ops of this package (gorgonia's SDOp.SymDiff, so TapeMachine can
// differentiate it), the formula in its doc comment, and a float64
// finite-difference test through [CheckGrad].
//
// All ops accept float32 and float64 tensors. Matrix products go through
// [BLAS]: OpenBLAS (cgo, -lopenblas) by default, gonum's pure-Go BLAS when
// built with the purego tag (CGO_ENABLED=0 go build -tags purego).
//
// Ops keep their output buffers and the few intermediates their backward
// needs (for example attention probabilities) inside the op value, so an op
// belongs to exactly one graph and one machine; build one graph per
// goroutine.
//
// It also owns the float32 memory and kernels around the ops: [Alloc32]
// (large buffers advised as transparent huge pages), the vectorised C
// kernels of the hot loops (fastmath_cgo.go; pure Go with purego) and
// [AdamW32], the one-pass AdamW update the trainer's optimizer runs.
package autograd
