// Package kernels is sinktrain's one float32 kernel set: the exponential,
// the standard normal cdf/pdf (erf by a polynomial for float32, a cubic
// Hermite table for float64), GELU, LayerNorm and RMSNorm and their
// backward, SwiGLU (silu(gate)·up) and its backward, rotary position
// embeddings moving a fused projection into heads and back, softmax rows
// (softmax, softmax₁ and the sink logit: an optional extra logit in the
// denominator; [SoftmaxBand] for a [sinks | window] row), causal attention
// blocks and their backward, cross-entropy, the decoding step's
// matrix-vector product over float32 weights ([Gemv]), the products over
// bfloat16 weight panels ([Panels]: [GemvPanels], [GemmPanels], with
// AVX512-BF16 pair products where the CPU has them, and [RoundBF16]),
// a decoding step's grouped-query attention over a KV cache ([AttnScores],
// [AttnValues], [Attention]), [Pool] (helper threads in C that split a
// decoding step's products — one matrix or a layer's stacked q, k, v
// ([Pool.GemvN]) — and attention without waking goroutines), AdamW, small
// vector kernels, [Alloc32] (large buffers advised as transparent huge
// pages) and [Huge] (filled buffers moved onto them).
//
// The float32 instantiations run C (*.c, cgo; gcc's target_clones compiles
// them for AVX-512, AVX2+FMA and baseline x86-64) and fall back to the pure
// Go versions in this package when cgo is off (CGO_ENABLED=0) or with the
// purego build tag; [Impl] says which. Generic kernels also accept float64:
// that path is pure Go with math.Exp and the erf table, the precision the
// finite-difference checks of autograd need.
//
// autograd, train and infer call these kernels; nothing else computes them.
// kernels imports only the standard library (and C); it must not import any
// other sinktrain package. New kernel families go in new files: a .c file
// including kernels.h, its Go wrapper in cgo.go and nocgo.go, and a pure-Go
// version tested against it.
package kernels
