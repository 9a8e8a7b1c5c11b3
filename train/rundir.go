package train

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/sinktrain/sinktrain/checkpoint"
	"github.com/sinktrain/sinktrain/data"
	"github.com/sinktrain/sinktrain/internal/input"
)

// DataRecord is the dataset a run trains on, recorded in every
// checkpoint's trainer_state.json so that --resume reuses it and refuses
// another one.
type DataRecord struct {
	// Path is the dataset as opened: relative to the run directory when
	// inside it (the embedded text prepared into RUN/data), else absolute.
	Path string `json:"path"`
	// ManifestSHA256 is the sha256 of its manifest.json ("" for a bare
	// .arrow file or an HF datasets folder, which have none).
	ManifestSHA256 string `json:"manifest_sha256,omitempty"`
	// TokenizerSHA256 is the sha256 of the tokenizer.json it was encoded
	// with ("" when it has none beside it).
	TokenizerSHA256 string `json:"tokenizer_sha256,omitempty"`
	// TrainTokens is the length of its train split.
	TrainTokens int64 `json:"train_tokens"`
}

// recordData describes the open dataset ds of a run in out.
func recordData(ds *data.Dataset, out string, train int) (DataRecord, error) {
	r := DataRecord{TrainTokens: int64(train)}
	abs, err := filepath.Abs(ds.Path())
	if err != nil {
		return r, err
	}
	r.Path = abs
	if absOut, err := filepath.Abs(out); err == nil {
		if rel, err := filepath.Rel(absOut, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			r.Path = rel
		}
	}
	if ds.Manifest() != nil {
		if r.ManifestSHA256, err = fileSHA256(filepath.Join(ds.Path(), data.ManifestName)); err != nil {
			return r, err
		}
	}
	if p := ds.TokenizerPath(); p != "" {
		if r.TokenizerSHA256, err = fileSHA256(p); err != nil {
			return r, err
		}
	}
	return r, nil
}

// resolve returns the recorded dataset's path for a run in out.
func (r DataRecord) resolve(out string) string {
	if filepath.IsAbs(r.Path) {
		return r.Path
	}
	return filepath.Join(out, r.Path)
}

// mismatch names the first difference between the recorded dataset r and
// another one, or returns "".
func (r DataRecord) mismatch(o DataRecord) string {
	short := func(s string) string {
		if len(s) > 12 {
			return s[:12] + "…"
		}
		if s == "" {
			return "none"
		}
		return s
	}
	switch {
	case r.ManifestSHA256 != o.ManifestSHA256:
		return fmt.Sprintf("manifest.json sha256 %s, the run's dataset had %s", short(o.ManifestSHA256), short(r.ManifestSHA256))
	case r.TokenizerSHA256 != o.TokenizerSHA256:
		return fmt.Sprintf("tokenizer.json sha256 %s, the run's dataset had %s", short(o.TokenizerSHA256), short(r.TokenizerSHA256))
	case r.TrainTokens != o.TrainTokens:
		return fmt.Sprintf("%d train tokens, the run's dataset had %d", o.TrainTokens, r.TrainTokens)
	}
	return ""
}

func fileSHA256(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// resumableKeys are the config keys a resumed run may change: how long it
// runs and its bookkeeping. Every other key (the model, the data order,
// the optimizer) is the run's and stays as the checkpoint recorded it.
var resumableKeys = []string{"max_steps", "max_tokens", "eval_interval", "eval_tokens", "checkpoint_interval", "keep_checkpoints", "log_interval"}

// checkResume compares the config a resume resolved (the run's stored
// config with --config and --set applied again) with the stored one: a
// key outside resumableKeys that differs is refused, naming the override
// that changed it; the resumable keys that changed are returned as notes.
func (o *Options) checkResume(cfg Config, rp *resumePoint) (notes []string, err error) {
	stored := rp.state.Config
	for _, k := range Keys() {
		a, _ := cfg.field(k)
		b, _ := stored.field(k)
		if reflect.DeepEqual(a.Interface(), b.Interface()) {
			continue
		}
		if slices.Contains(resumableKeys, k) {
			notes = append(notes, fmt.Sprintf("%s %v → %v", k, b.Interface(), a.Interface()))
			continue
		}
		why := fmt.Errorf("the run in %s was trained with %s = %v (%s), and a resumed run keeps its config except %s; finetune from the run to change it",
			o.Out, k, b.Interface(), filepath.Base(rp.dir), strings.Join(resumableKeys, ", "))
		for _, kv := range slices.Backward(o.Set) {
			if key, _, _ := strings.Cut(kv, "="); strings.TrimSpace(key) == k {
				return nil, input.New("Set", "override", strconv.Quote(kv), why)
			}
		}
		if o.Config != "" {
			return nil, input.New("Config", "config", o.Config, fmt.Errorf("sets %s = %v: %w", k, a.Interface(), why))
		}
		return nil, why
	}
	return notes, nil
}

// checkOut refuses a run directory that holds something else than a run:
// a fresh run starts in a new or empty directory, or in one holding only
// what an earlier attempt killed before its first checkpoint left
// (metrics.jsonl, temporary folders, and data/ — the embedded text it
// prepared — when no --data is given); a directory with checkpoints is
// resumed with --resume.
func (o *Options) checkOut() error {
	ents, err := os.ReadDir(o.Out)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return input.File("Out", "run directory", o.Out, err)
	}
	if dir, _, err := checkpoint.LatestCheckpoint(o.Out); err != nil || dir != "" {
		if err != nil {
			return err
		}
		return input.Errorf("Out", "run directory", o.Out, "already holds %s: resume it, or choose another run directory", filepath.Base(dir))
	}
	var other []string
	for _, e := range ents {
		switch n := e.Name(); {
		case n == "data" && e.IsDir() && o.Data == "",
			n == MetricsFile && !e.IsDir(),
			strings.HasPrefix(n, "."+checkpoint.CheckpointPrefix), strings.HasPrefix(n, "."+MetricsFile), strings.HasPrefix(n, ".data."):
			continue
		}
		other = append(other, e.Name())
	}
	if len(other) > 0 {
		if len(other) > 3 {
			other = append(other[:3], "…")
		}
		return input.Errorf("Out", "run directory", o.Out, "is not empty and holds no sinktrain run (%s): choose a new or empty directory", strings.Join(other, ", "))
	}
	return nil
}

// freshRun remembers what a fresh run's directory held before the run,
// so that a run failing before its first checkpoint removes what it wrote.
type freshRun struct {
	out      string
	madeOut  bool // the directory did not exist
	madeData bool // OUT/data did not exist (the run may prepare it)
}

func newFreshRun(out string) *freshRun {
	_, errOut := os.Stat(out)
	_, errData := os.Stat(filepath.Join(out, "data"))
	return &freshRun{out: out, madeOut: errors.Is(errOut, os.ErrNotExist), madeData: errors.Is(errData, os.ErrNotExist)}
}

// undo is called with the error that ended the run: when no checkpoint
// was written it removes what the run wrote (the directory it made, or
// its files in a directory that existed) and says so in the error.
func (f *freshRun) undo(err error) error {
	if err == nil {
		return nil
	}
	if dir, _, e := checkpoint.LatestCheckpoint(f.out); e != nil || dir != "" {
		return err
	}
	if _, e := os.Stat(f.out); e != nil {
		return err // nothing was written
	}
	if f.madeOut {
		if os.RemoveAll(f.out) != nil {
			return err
		}
	} else {
		ents, _ := os.ReadDir(f.out)
		for _, e := range ents {
			if e.Name() == "data" && !f.madeData {
				continue
			}
			if os.RemoveAll(filepath.Join(f.out, e.Name())) != nil {
				return err
			}
		}
	}
	return fmt.Errorf("%w; nothing of this run is left in %s", err, f.out)
}
