package openblas

import (
	"os"
	"testing"
)

// RunTests is the TestMain of the packages that benchmark BLAS: the tests
// and benchmarks run on the kernels the CPU supports, as the sinktrain
// binary does (Ensure first). It does not return.
func RunTests(m *testing.M) {
	if err := Ensure(os.Stderr); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	os.Exit(m.Run())
}
