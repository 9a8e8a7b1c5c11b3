package study

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sinktrain/sinktrain/internal/fsutil"
)

// cmpStage is an output directory under construction: every file is written
// into a temporary sibling directory and moved into place only by commit, so
// a failed or interrupted run leaves nothing partial in out.
type cmpStage struct {
	out string // the final directory
	tmp string // .<out>.tmp-* next to out
}

// cmpNewStage checks that out can be written (creating its parent) and makes
// the temporary directory. Call it before any long computation so that an
// unwritable --out fails at once.
func cmpNewStage(out string) (*cmpStage, error) {
	if out == "" {
		return nil, fmt.Errorf("--out: no output directory given")
	}
	out = filepath.Clean(out)
	if fi, err := os.Stat(out); err == nil {
		if !fi.IsDir() {
			return nil, fmt.Errorf("--out %s: exists and is not a directory", out)
		}
		probe, err := os.CreateTemp(out, ".probe-*")
		if err != nil {
			return nil, fmt.Errorf("--out %s: directory is not writable: %w", out, cmpUnwrapPath(err))
		}
		probe.Close()
		os.Remove(probe.Name())
	}
	parent := filepath.Dir(out)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("--out %s: cannot create parent directory: %w", out, cmpUnwrapPath(err))
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("--out %s: not writable: %w", out, cmpUnwrapPath(err))
	}
	return &cmpStage{out: out, tmp: tmp}, nil
}

// cmpUnwrapPath drops the path from *os.PathError so that error lines name
// the path once.
func cmpUnwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// path returns where file name is staged.
func (s *cmpStage) path(name string) string { return filepath.Join(s.tmp, name) }

// commit moves the staged files into out: the whole directory is renamed
// when out does not exist yet; otherwise each file is renamed over its old
// version (other files in out are kept).
func (s *cmpStage) commit() error {
	if _, err := os.Stat(s.out); os.IsNotExist(err) {
		if err := os.Chmod(s.tmp, 0o755); err != nil {
			return fmt.Errorf("--out %s: %w", s.out, err)
		}
		if err := os.Rename(s.tmp, s.out); err != nil {
			return fmt.Errorf("--out %s: %w", s.out, cmpUnwrapPath(err))
		}
		return fsutil.SyncDir(filepath.Dir(s.out))
	}
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return fmt.Errorf("--out %s: %w", s.out, err)
	}
	for _, e := range entries {
		if err := os.Rename(filepath.Join(s.tmp, e.Name()), filepath.Join(s.out, e.Name())); err != nil {
			return fmt.Errorf("--out %s: %w", s.out, err)
		}
	}
	if err := fsutil.SyncDir(s.out); err != nil {
		return err
	}
	return os.Remove(s.tmp)
}

// finish runs write (which fills the stage), commits, and prints summary to
// stdout (nil: os.Stdout).
func (s *cmpStage) finish(write func() error, stdout io.Writer, summary string) error {
	if err := write(); err != nil {
		return err
	}
	if err := s.commit(); err != nil {
		return err
	}
	if stdout == nil {
		stdout = os.Stdout
	}
	_, err := io.WriteString(stdout, summary)
	return err
}

// abort removes the staged files; a no-op after commit.
func (s *cmpStage) abort() { os.RemoveAll(s.tmp) }
