package infer

import (
	"os"
	"testing"

	"github.com/sinktrain/sinktrain/internal/openblas"
)

// TestMain makes the benchmarks run on the BLAS kernels the CPU supports,
// as the sinktrain binary does (see internal/openblas).
func TestMain(m *testing.M) {
	if err := openblas.Ensure(os.Stderr); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	os.Exit(m.Run())
}
