//go:build cgo && !purego

package openblas

// #cgo LDFLAGS: -lopenblas
// char* openblas_get_corename(void);
// char* openblas_get_config(void);
import "C"

// Implementation names the BLAS library in use.
const Implementation = "OpenBLAS"

// Core is the kernel set the loaded OpenBLAS uses.
func Core() string { return C.GoString(C.openblas_get_corename()) }

// Config is the library's build description (version, DYNAMIC_ARCH, …).
func Config() string { return C.GoString(C.openblas_get_config()) }
