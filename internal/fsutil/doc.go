// Package fsutil holds the file-system helpers every writer shares: atomic
// file writes (temp file in the same directory, fsync, rename, fsync of the
// directory) so that a crash or a full disk never leaves a half-written file
// where a good one was; its errors name the target file, never the
// temporary. It imports only the standard library; any package may use it.
package fsutil
