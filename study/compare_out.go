package study

import (
	"io"
	"os"
	"path/filepath"

	"github.com/sinktrain/sinktrain/internal/fsutil"
	"github.com/sinktrain/sinktrain/internal/input"
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
		return nil, input.Errorf("Out", "output directory", "", "none given")
	}
	out = filepath.Clean(out)
	if fi, err := os.Stat(out); err == nil {
		if !fi.IsDir() {
			return nil, input.Errorf("Out", "output directory", out, "exists and is not a directory")
		}
		probe, err := os.CreateTemp(out, ".probe-*")
		if err != nil {
			return nil, input.Errorf("Out", "output directory", out, "not writable: %w", fsutil.Cause(err))
		}
		probe.Close()
		os.Remove(probe.Name())
	}
	parent := filepath.Dir(out)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, input.Errorf("Out", "output directory", out, "cannot create its parent: %w", fsutil.Cause(err))
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return nil, input.Errorf("Out", "output directory", out, "not writable: %w", fsutil.Cause(err))
	}
	return &cmpStage{out: out, tmp: tmp}, nil
}

// path returns where file name is staged.
func (s *cmpStage) path(name string) string { return filepath.Join(s.tmp, name) }

// commit moves the staged files into out: the whole directory is renamed
// when out does not exist yet; otherwise each file is renamed over its old
// version (other files in out are kept).
func (s *cmpStage) commit() error {
	if _, err := os.Stat(s.out); os.IsNotExist(err) {
		if err := os.Chmod(s.tmp, 0o755); err != nil {
			return input.New("Out", "output directory", s.out, fsutil.Cause(err))
		}
		if err := os.Rename(s.tmp, s.out); err != nil {
			return input.New("Out", "output directory", s.out, fsutil.Cause(err))
		}
		return fsutil.SyncDir(filepath.Dir(s.out))
	}
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return input.New("Out", "output directory", s.out, fsutil.Cause(err))
	}
	for _, e := range entries {
		if err := os.Rename(filepath.Join(s.tmp, e.Name()), filepath.Join(s.out, e.Name())); err != nil {
			return input.New("Out", "output directory", s.out, fsutil.Cause(err))
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
