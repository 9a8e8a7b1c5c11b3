//go:build !cgo || purego

package openblas

// Implementation names the BLAS library in use.
const Implementation = "gonum (pure Go)"

// Core is empty: no OpenBLAS is linked.
func Core() string { return "" }

// Config is empty: no OpenBLAS is linked.
func Config() string { return "" }
