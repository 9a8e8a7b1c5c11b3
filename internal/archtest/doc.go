// Package archtest holds no code: its tests enforce the architecture table
// of README.md with `go list` — every package imports only what its row
// allows, nothing imports cmd, infer/checkpoint/study (and everything below
// them) link no gorgonia or cgo-only code, and they build with
// CGO_ENABLED=0 — so a forbidden import fails CI.
package archtest
