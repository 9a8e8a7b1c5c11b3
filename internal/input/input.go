// Package input marks the errors of library calls that are about one of
// their inputs — an Options field such as a file, a directory or a count —
// so that cmd/sinktrain can name the flag the user typed while a library
// caller reads the field's own words:
//
//	library:        ids file runs/x.ids: token 2: "three" is not an integer id
//	sinktrain CLI:  --ids runs/x.ids: token 2: "three" is not an integer id
//
// It imports only the standard library; any package may use it.
package input

import "fmt"

// Error is an error about one input of a library call.
type Error struct {
	Field string // the Options field the input came from, e.g. "IDs"
	What  string // the input in user terms, e.g. "ids file"
	Value string // the value as given ("" when there is none to show)
	Err   error  // what is wrong with it
}

// New returns an *Error about input field (in user terms what) of the
// given value.
func New(field, what, value string, err error) error {
	return &Error{Field: field, What: what, Value: value, Err: err}
}

// Errorf is New with a formatted cause.
func Errorf(field, what, value, format string, args ...any) error {
	return New(field, what, value, fmt.Errorf(format, args...))
}

// Error names the input in user terms.
func (e *Error) Error() string { return e.Label(e.What) }

// Label formats the error with name in place of What (cmd/sinktrain passes
// the flag).
func (e *Error) Label(name string) string {
	if e.Value == "" {
		return name + ": " + e.Err.Error()
	}
	return name + " " + e.Value + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }
