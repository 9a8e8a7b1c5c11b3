package kernels

// hugePage is the size of a transparent huge page on x86-64 and arm64
// Linux (2 MiB).
const hugePage = 2 << 20

// Alloc32 returns a zeroed []float32 of length n for a large buffer the
// kernels stream through (activations, weights, gradients, optimizer
// state). On Linux, every whole 2 MiB page inside it is advised as a
// transparent huge page (madvise MADV_HUGEPAGE) before anything touches it,
// so with the kernel's default THP mode ("madvise") the buffer is backed by
// huge pages: GEMM packing and elementwise passes over hundreds of MiB of
// activations then take a TLB miss per 2 MiB instead of per 4 KiB (≈ 7% of
// a training step on the reference config, docs/PERFORMANCE.md). Elsewhere,
// or when the advice is refused, it is a plain make.
func Alloc32(n int) []float32 {
	b := make([]float32, n)
	_ = adviseHuge(b)
	return b
}

// Alloc is Alloc32 for any element type (float64 tensors, bfloat16
// panels).
func Alloc[T any](n int) []T {
	b := make([]T, n)
	_ = adviseHuge(b)
	return b
}

// Huge moves the whole 2 MiB pages inside b, a large buffer that is
// already filled (weights read from a checkpoint), onto transparent huge
// pages at once: MADV_HUGEPAGE, then MADV_COLLAPSE (Linux 6.1+), which
// copies the pages and keeps the values. A decoding step streams every
// weight once; on 4 KiB pages each page is a TLB miss and a new stream
// for the hardware prefetcher (float32 decode of SmolLM-135M's shapes
// ≈ 10% faster on the 2-core EPYC; no change measured on the Xeon,
// docs/PERFORMANCE.md). The error
// (an older kernel, THP off) is for tests: callers may ignore it, and b
// then stays as it was.
func Huge[T any](b []T) error { return collapseHuge(b) }
