package input

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
)

// Error is an error about one input of a library call.
type Error struct {
	Field string // the Options field the input came from, e.g. "IDs"
	What  string // the input in user terms, e.g. "ids file"
	Value string // the value as given ("" when there is none to show)
	Err   error  // what is wrong with it
	// Usage marks a value that is wrong in itself — malformed or out of
	// range whatever any file holds (a cache spec "4+x", a count of 0) —
	// so that a command-line tool reports it as a usage error (exit 2).
	Usage bool
	// OverrideField and OverrideWhat name the option that accepts the
	// input anyway (Field and What of a switch, e.g. "AllowDifferentTokenizers",
	// "allow different tokenizers"), or are "".
	OverrideField, OverrideWhat string
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

// Usagef is Errorf for a value that is wrong in itself (see Error.Usage).
func Usagef(field, what, value, format string, args ...any) error {
	return &Error{Field: field, What: what, Value: value, Err: fmt.Errorf(format, args...), Usage: true}
}

// File attributes an error about the file or directory path to an input:
// an *fs.PathError (open, stat, read…) on path becomes an *Error whose cause
// is the system's reason, so that the file is named once; any other error
// already says what is wrong with the file and is returned as is. nil
// stays nil.
func File(field, what, path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && filepath.Clean(pe.Path) == filepath.Clean(path) {
		return New(field, what, path, pe.Err)
	}
	return err
}

// Overridable returns e with the option that accepts the input anyway.
func (e *Error) Overridable(field, what string) *Error {
	e.OverrideField, e.OverrideWhat = field, what
	return e
}

// Error names the input in user terms.
func (e *Error) Error() string { return e.Label(e.What, e.OverrideWhat) }

// Label formats the error with name in place of What and override in place
// of OverrideWhat (cmd/sinktrain passes the flags).
func (e *Error) Label(name, override string) string {
	msg := name + ": " + e.Err.Error()
	if e.Value != "" {
		msg = name + " " + e.Value + ": " + e.Err.Error()
	}
	if e.OverrideField != "" {
		msg += " (" + override + " to use it anyway)"
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }
