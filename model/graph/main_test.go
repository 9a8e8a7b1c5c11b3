package graph

import (
	"testing"

	"github.com/sinktrain/sinktrain/internal/openblas"
)

// TestMain runs the tests and benchmarks on the BLAS kernels the CPU
// supports, as the sinktrain binary does (openblas.RunTests).
func TestMain(m *testing.M) { openblas.RunTests(m) }
