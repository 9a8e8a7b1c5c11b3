//go:build cgo && !purego

package autograd

// #cgo LDFLAGS: -lopenblas
// void openblas_set_num_threads(int);
import "C"

import (
	"gonum.org/v1/netlib/blas/netlib"
	G "gorgonia.org/gorgonia"
)

const implName = "openblas"

func impl() Impl { return netlib.Implementation{} }

func fullImpl() G.BLAS { return netlib.Implementation{} }

func setThreads(n int) {
	if n < 1 {
		n = 1
	}
	C.openblas_set_num_threads(C.int(n))
}
