// Package progress reports how far a long job is: a [progressbar] bar when
// the writer is a terminal, plain log lines otherwise, nothing for a nil
// writer. The data, study and train packages share it so that prepare,
// eval, compare and the training loop behave alike. It imports the standard
// library, progressbar and x/term; any library package may use it.
//
// [progressbar]: https://pkg.go.dev/github.com/schollz/progressbar/v3
package progress
