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

// Alloc returns Alloc32(n) for float32 and make([]T, n) otherwise.
func Alloc[T Float](n int) []T {
	if isF32[T]() {
		return any(Alloc32(n)).([]T)
	}
	return make([]T, n)
}
