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
	out   string // the final directory
	tmp   string // .<out>.tmp-* next to out
	owned func(name string) bool
}

// cmpOutput describes what a command writes into its output directory:
// marker is the file whose presence makes a directory its own (results.json,
// attention.json; "": a directory is its own when owned matches all its
// files), owned matches every file name it writes there.
type cmpOutput struct {
	what   string // "compare output", "inspect output"
	marker string
	owned  func(name string) bool
}

// isOwn reports whether the directory dir with entries ents is an earlier
// output of the command.
func (o cmpOutput) isOwn(dir string, ents []os.DirEntry) bool {
	if o.marker != "" {
		_, err := os.Stat(filepath.Join(dir, o.marker))
		return err == nil
	}
	for _, e := range ents {
		if e.IsDir() || !o.owned(e.Name()) {
			return false
		}
	}
	return true
}

// cmpNewStage checks that out can be written (creating its parent) and makes
// the temporary directory. out must be new, empty, or an earlier output of
// the same command (holding o.marker): another directory is refused, so no
// one's files are mixed with ours. Call it before any long computation so
// that a bad --out fails at once.
func cmpNewStage(out string, o cmpOutput) (*cmpStage, error) {
	if out == "" {
		return nil, input.Errorf("Out", "output directory", "", "none given")
	}
	out = filepath.Clean(out)
	if fi, err := os.Stat(out); err == nil {
		if !fi.IsDir() {
			return nil, input.Errorf("Out", "output directory", out, "exists and is not a directory")
		}
		ents, err := os.ReadDir(out)
		if err != nil {
			return nil, input.File("Out", "output directory", out, err)
		}
		if len(ents) > 0 && !o.isOwn(out, ents) {
			if o.marker == "" {
				return nil, input.Errorf("Out", "output directory", out, "holds other files than %s (%s): choose a new or empty directory", o.what, ents[0].Name())
			}
			return nil, input.Errorf("Out", "output directory", out, "is not empty and holds no %s (%s): choose a new or empty directory", o.what, o.marker)
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
	return &cmpStage{out: out, tmp: tmp, owned: o.owned}, nil
}

// path returns where file name is staged.
func (s *cmpStage) path(name string) string { return filepath.Join(s.tmp, name) }

// commit moves the staged files into out: the whole directory is renamed
// when out does not exist yet; otherwise each file is renamed over its old
// version, and files of an earlier run of the command that this run did
// not write (attention_L3.png of a deeper model) are removed. Files that
// are not the command's are kept.
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
	fresh := map[string]bool{}
	for _, e := range entries {
		fresh[e.Name()] = true
		if err := os.Rename(filepath.Join(s.tmp, e.Name()), filepath.Join(s.out, e.Name())); err != nil {
			return input.New("Out", "output directory", s.out, fsutil.Cause(err))
		}
	}
	old, err := os.ReadDir(s.out)
	if err != nil {
		return input.New("Out", "output directory", s.out, fsutil.Cause(err))
	}
	for _, e := range old {
		if !fresh[e.Name()] && !e.IsDir() && s.owned != nil && s.owned(e.Name()) {
			if err := os.Remove(filepath.Join(s.out, e.Name())); err != nil {
				return input.New("Out", "output directory", s.out, fsutil.Cause(err))
			}
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
