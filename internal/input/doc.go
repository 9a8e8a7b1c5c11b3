// Package input marks the errors of library calls that are about one of
// their inputs — an Options field such as a file, a directory or a count —
// so that cmd/sinktrain can name the flag the user typed while a library
// caller reads the field's own words:
//
//	library:        ids file runs/x.ids: token 2: "three" is not an integer id
//	sinktrain CLI:  --ids runs/x.ids: token 2: "three" is not an integer id
//
// [JSON] rewords encoding/json errors in a file's terms (field paths and JSON
// types, never Go type names). It imports only the standard library; any
// package may use it.
package input
