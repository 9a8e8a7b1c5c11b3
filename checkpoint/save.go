package checkpoint

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/sinktrain/sinktrain/internal/fsutil"
	"github.com/sinktrain/sinktrain/internal/input"
	"github.com/sinktrain/sinktrain/model"
)

// Files of a Hugging Face tokenizer folder that Save writes next to
// tokenizer.json so that AutoTokenizer knows the special (sink) tokens.
const (
	SpecialTokensMapFile = "special_tokens_map.json"
	TokenizerConfigFile  = "tokenizer_config.json"
)

// FileWriter writes one file's content; see WriteDir.
type FileWriter = func(w *bufio.Writer) error

// SaveOptions controls Save.
type SaveOptions struct {
	// DType of model.safetensors: F32 (default, also for ""), F16 or BF16.
	// Narrower dtypes round to nearest even.
	DType DType
	// Tokenizer is the tokenizer.json content to write. When nil,
	// TokenizerPath is copied; when that is "" too, the model's own
	// TokenizerPath (if any) is copied. With a tokenizer, Save also writes
	// special_tokens_map.json and tokenizer_config.json naming the sinks.
	Tokenizer     []byte
	TokenizerPath string
	// Train, when non-nil, replaces the training configuration stored in
	// config.json's "sinktrain" section (otherwise m.Sinktrain.Train is kept).
	Train json.RawMessage
	// Files are extra files written into the same directory in the same
	// atomic step, e.g. "optimizer.safetensors" and "trainer_state.json"
	// from package train (base names only).
	Files map[string]FileWriter
	// HF makes a plain Hugging Face export: attention other than softmax
	// is refused, and Train and Files are dropped.
	HF bool
}

// Save writes m as a checkpoint directory: config.json (the HF config of
// the model's family plus the "sinktrain" section), model.safetensors (HF
// names, float32 unless opts.DType says otherwise), the tokenizer files and
// opts.Files. The result is a folder transformers can load
// (AutoModelForCausalLM.from_pretrained) whenever the attention is softmax
// (and, for MPT, the model is transformers' biasless one without qk_ln).
//
// When dir does not exist, is empty, or holds only files that Save
// writes (a checkpoint-NNNNNN folder saved again), the whole directory is
// written into a temporary sibling and renamed into place (WriteDir), so a
// crash never leaves a half directory. When dir holds other things (a run
// directory with metrics.jsonl and checkpoint-* folders), each file is
// replaced atomically, config.json last, and the rest is left alone.
func Save(dir string, m *Model, opts SaveOptions) error {
	files, err := checkpointFiles(m, opts)
	if err != nil {
		return err
	}
	whole, err := replaceableDir(dir, files)
	if err != nil {
		return err
	}
	if whole {
		return WriteDir(dir, files)
	}
	names := sortedNames(files)
	for _, name := range names {
		fsutil.RemoveStaleTemps(filepath.Join(dir, name)) // left by a killed writer
	}
	for _, name := range names {
		if name != ConfigFile {
			if err := fsutil.WriteFileAtomic(filepath.Join(dir, name), files[name]); err != nil {
				return err
			}
		}
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(dir, ConfigFile), files[ConfigFile]); err != nil {
		return err
	}
	return nil
}

// Export writes m as a plain Hugging Face folder (Save with
// opts.HF set): config.json, model.safetensors in opts.DType, and the
// tokenizer files; no training state. Only softmax attention exports.
func Export(dir string, m *Model, opts SaveOptions) error {
	opts.HF = true
	return Save(dir, m, opts)
}

// checkpointFiles builds the writers of every file of a checkpoint.
func checkpointFiles(m *Model, opts SaveOptions) (map[string]FileWriter, error) {
	if m == nil {
		return nil, errors.New("nil model")
	}
	dt, err := ParseDType(string(opts.DType))
	if err != nil {
		return nil, err
	}
	cfg := m.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := m.Weights.Check(cfg); err != nil {
		return nil, err
	}
	train := opts.Train
	if train == nil && m.Sinktrain != nil {
		train = m.Sinktrain.Train
	}
	if opts.HF {
		if err := exportsToHF(cfg); err != nil {
			return nil, err
		}
		train, opts.Files = nil, nil
	}
	files := make(map[string]FileWriter, len(opts.Files)+5)
	for name, fn := range opts.Files {
		if name != filepath.Base(name) || strings.HasPrefix(name, ".") {
			return nil, fmt.Errorf("extra file %q: expected a plain file name", name)
		}
		files[name] = fn
	}
	cj := cfg.HFJSON(train)
	cj["dtype"] = dt.TorchName()       // transformers 5
	cj["torch_dtype"] = dt.TorchName() // transformers 4
	cb, err := marshalIndent(cj)
	if err != nil {
		return nil, err
	}
	files[ConfigFile] = writeBytes(cb)
	ts := make([]streamTensor, 0, len(m.Weights))
	for _, s := range cfg.ParamSpecs() {
		t := m.Weights[s.Name]
		ts = append(ts, float32Tensor(s.Name, dt, t.Shape, t.Data))
	}
	files[WeightsFile] = func(w *bufio.Writer) error {
		return encodeStream(w, ts, map[string]string{"format": "pt"})
	}
	tok := opts.Tokenizer
	if tok == nil {
		p := opts.TokenizerPath
		if p == "" {
			p = m.TokenizerPath
		}
		if p != "" {
			if tok, err = os.ReadFile(p); err != nil {
				return nil, err
			}
		}
	}
	if tok != nil {
		stm, tcfg, err := tokenizerSideFiles(cfg, tok)
		if err != nil {
			return nil, err
		}
		files[TokenizerFile] = writeBytes(tok)
		files[SpecialTokensMapFile] = writeBytes(stm)
		files[TokenizerConfigFile] = writeBytes(tcfg)
	}
	return files, nil
}

// exportsToHF refuses configs whose maths transformers does not compute.
func exportsToHF(cfg model.Config) error {
	if !cfg.Attention.ExportsToHF() {
		return input.Errorf("HF", "Hugging Face export", "", "attention %q cannot be exported to transformers (it computes softmax attention only); keep sinktrain's format instead", cfg.Attention)
	}
	if cfg.Arch == model.MPT && (cfg.QKLayerNorm || !cfg.NoBias) {
		return input.Errorf("HF", "Hugging Face export", "", "an MPT model with attn_config.qk_ln = %v and no_bias = %v cannot be exported to transformers (MptForCausalLM has no qk_ln and no biases); keep sinktrain's format instead", cfg.QKLayerNorm, cfg.NoBias)
	}
	return nil
}

func writeBytes(b []byte) FileWriter {
	return func(w *bufio.Writer) error {
		_, err := w.Write(b)
		return err
	}
}

func sortedNames(files map[string]FileWriter) []string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// isEmptyOrMissing reports whether dir does not exist or is an empty
// directory; a non-directory at dir is an error.
func isEmptyOrMissing(dir string) (bool, error) {
	return replaceableDir(dir, nil)
}

// replaceableDir reports whether dir is missing or a directory holding
// only regular files named in files; a non-directory at dir is an error.
func replaceableDir(dir string, files map[string]FileWriter) (bool, error) {
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if !st.IsDir() {
		return false, fmt.Errorf("%s exists and is not a directory", dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, e := range ents {
		if _, ok := files[e.Name()]; !ok || !e.Type().IsRegular() {
			return false, nil
		}
	}
	return true, nil
}

// WriteDir writes a whole directory atomically: every file (base names
// only) into a temporary sibling ".NAME.tmp-*", each fsynced, then the
// temporary directory is renamed to dir. An existing dir is replaced (moved
// aside first, removed after), so readers see the old or the new
// directory, never a half-written one; on error nothing is left behind.
// Package train uses it for checkpoint-NNNNNN folders via Save's Files.
func WriteDir(dir string, files map[string]FileWriter) (err error) {
	dir = filepath.Clean(dir)
	parent, base := filepath.Dir(dir), filepath.Base(dir)
	// File-system errors name dir (or its file), never the temporary.
	fail := func(path string, err error) error {
		return &fs.PathError{Op: "write", Path: path, Err: fsutil.Cause(err)}
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fail(dir, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+base+".tmp-")
	if err != nil {
		return fail(dir, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fail(dir, err)
	}
	for _, name := range sortedNames(files) {
		if name != filepath.Base(name) || name == "." || name == ".." {
			return fmt.Errorf("write %s: file name %q, expected a base name", dir, name)
		}
		if err := fsutil.WriteFileAtomic(filepath.Join(tmp, name), files[name]); err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) && pe.Path == filepath.Join(tmp, name) {
				return fail(filepath.Join(dir, name), err)
			}
			return err
		}
	}
	var old string
	if _, err := os.Lstat(dir); err == nil {
		old = tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			return fail(dir, err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if old != "" {
			os.Rename(old, dir)
		}
		return fail(dir, err)
	}
	if old != "" {
		os.RemoveAll(old)
	}
	return fsutil.SyncDir(parent)
}

// CheckpointPrefix starts the name of every checkpoint folder of a run.
const CheckpointPrefix = "checkpoint-"

// CheckpointDir returns RUN/checkpoint-NNNNNN for a step.
func CheckpointDir(runDir string, step int) string {
	return filepath.Join(runDir, fmt.Sprintf("%s%06d", CheckpointPrefix, step))
}

// Checkpoint is one complete checkpoint folder of a run.
type Checkpoint struct {
	Dir  string
	Step int
}

// Checkpoints lists the complete checkpoint-* folders of runDir (those
// with config.json and weights), oldest step first. A missing runDir has
// none.
func Checkpoints(runDir string) ([]Checkpoint, error) {
	ents, err := os.ReadDir(runDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Checkpoint
	for _, e := range ents {
		s, ok := strings.CutPrefix(e.Name(), CheckpointPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		step, err := strconv.Atoi(s)
		if err != nil || step < 0 {
			continue
		}
		d := filepath.Join(runDir, e.Name())
		if !fileExists(filepath.Join(d, ConfigFile)) ||
			!(fileExists(filepath.Join(d, WeightsFile)) || fileExists(filepath.Join(d, WeightsIndexFile))) {
			continue
		}
		out = append(out, Checkpoint{Dir: d, Step: step})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Step < out[j].Step })
	return out, nil
}

// LatestCheckpoint returns the complete checkpoint of runDir with the
// highest step, or ("", 0, nil) when there is none.
func LatestCheckpoint(runDir string) (dir string, step int, err error) {
	cs, err := Checkpoints(runDir)
	if err != nil || len(cs) == 0 {
		return "", 0, err
	}
	c := cs[len(cs)-1]
	return c.Dir, c.Step, nil
}

// PruneCheckpoints removes all but the newest keep checkpoint folders of
// runDir, and temporary folders left by interrupted writes
// (".checkpoint-*.tmp-*"). keep <= 0 keeps every checkpoint.
func PruneCheckpoints(runDir string, keep int) error {
	cs, err := Checkpoints(runDir)
	if err != nil {
		return err
	}
	stale, _ := filepath.Glob(filepath.Join(runDir, "."+CheckpointPrefix+"*.tmp-*"))
	for _, p := range stale {
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("prune checkpoints of %s: %w", runDir, err)
		}
	}
	if keep > 0 && len(cs) > keep {
		for _, c := range cs[:len(cs)-keep] {
			// Rename first: a crash during RemoveAll then leaves a hidden
			// temporary folder (removed next time), never a half
			// checkpoint-NNNNNN that fails to load.
			gone := filepath.Join(runDir, "."+filepath.Base(c.Dir)+".tmp-prune")
			if err := os.Rename(c.Dir, gone); err != nil {
				return fmt.Errorf("prune checkpoints of %s: %w", runDir, err)
			}
			if err := os.RemoveAll(gone); err != nil {
				return fmt.Errorf("prune checkpoints of %s: %w", runDir, err)
			}
		}
	}
	return nil
}
