package fsutil

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFileAtomic writes path through write: into a temp file in the same
// directory, fsynced, renamed over path, and the directory fsynced. On any
// error the temp file is removed and an existing path is left untouched.
// write's own error is returned as is; a file-system error is an
// *fs.PathError on path (operation "write", the temp file's name dropped).
func WriteFileAtomic(path string, write func(w *bufio.Writer) error) (err error) {
	fail := func(err error) error { return &fs.PathError{Op: "write", Path: path, Err: Cause(err)} }
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fail(err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err = write(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return fail(err)
	}
	if err = f.Sync(); err != nil {
		return fail(err)
	}
	if err = f.Close(); err != nil {
		return fail(err)
	}
	if err = os.Chmod(tmp, 0o644); err != nil {
		return fail(err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	return SyncDir(dir)
}

// Cause returns the system's reason of an *fs.PathError (or
// *os.LinkError), dropping the operation and the path, and any other error
// as is: for messages that name the file themselves.
func Cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// SyncDir fsyncs a directory so that a rename inside it is durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return &fs.PathError{Op: "sync", Path: dir, Err: Cause(err)}
	}
	return nil
}

// RemoveStaleTemps removes the temp files WriteFileAtomic leaves next to
// path when its process is killed mid-write (".NAME.tmp-*"). Call it only
// where no other process writes path at the same time.
func RemoveStaleTemps(path string) {
	stale, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*"))
	for _, p := range stale {
		os.Remove(p)
	}
}
