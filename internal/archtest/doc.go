// Package archtest holds no code: its test enforces the import directions of
// DESIGN.md §7 with `go list -deps`, so a forbidden import fails CI.
package archtest
