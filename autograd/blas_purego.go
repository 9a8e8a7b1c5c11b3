//go:build !cgo || purego

package autograd

import (
	"gonum.org/v1/gonum/blas/gonum"
	G "gorgonia.org/gorgonia"
)

const implName = "gonum"

func impl() Impl { return gonum.Implementation{} }

func fullImpl() G.BLAS { return gonum.Implementation{} }

func setThreads(int) {}
