// Package fsutil holds the file-system helpers every writer shares: atomic
// file writes (temp file in the same directory, fsync, rename, fsync of the
// directory) so that a crash or a full disk never leaves a half-written file
// where a good one was.
package fsutil
