package fsutil

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestRemoveStaleTemps: the temporaries of a killed writer go, the file
// and other files' temporaries stay.
func TestRemoveStaleTemps(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "model.safetensors")
	if err := WriteFileAtomic(p, func(w *bufio.Writer) error { _, err := w.WriteString("x"); return err }); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{".model.safetensors.tmp-1", ".model.safetensors.tmp-22", ".config.json.tmp-3"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	RemoveStaleTemps(p)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if len(got) != 2 || got[0] != ".config.json.tmp-3" || got[1] != "model.safetensors" {
		t.Fatalf("left %v, want [.config.json.tmp-3 model.safetensors]", got)
	}
}

// TestWriteFileAtomicErrors: a file-system error names the target once
// (not the temp file) and the callback's own error comes back as is.
func TestWriteFileAtomicErrors(t *testing.T) {
	p := filepath.Join(t.TempDir(), "missing", "f.json")
	err := WriteFileAtomic(p, func(*bufio.Writer) error { return nil })
	if err == nil || err.Error() != "write "+p+": no such file or directory" {
		t.Errorf("error %v, want write %s: no such file or directory", err, p)
	}
	mine := errors.New("mine")
	q := filepath.Join(t.TempDir(), "g.json")
	if err := WriteFileAtomic(q, func(*bufio.Writer) error { return mine }); err != mine {
		t.Errorf("callback error came back as %v", err)
	}
	if _, err := os.Stat(q); !os.IsNotExist(err) {
		t.Errorf("a failed write left %s (%v)", q, err)
	}
}
