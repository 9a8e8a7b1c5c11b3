// Package sysmem reports how much memory this process can still allocate,
// so that a library call can refuse a job that cannot fit — naming its
// estimate and what is available — before allocating it, instead of the Go
// runtime dying with "out of memory". It imports only the standard library
// and internal/progress (to word sizes); any library package may use it.
package sysmem
