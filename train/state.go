package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/sinktrain/sinktrain/checkpoint"
	"github.com/sinktrain/sinktrain/internal/fsutil"
	"github.com/sinktrain/sinktrain/internal/input"
	"github.com/sinktrain/sinktrain/model"
)

// Files of a checkpoint directory besides the model files.
const (
	OptimizerFile    = "optimizer.safetensors" // AdamW moments: exp_avg.<param>, exp_avg_sq.<param>
	TrainerStateFile = "trainer_state.json"
	MetricsFile      = "metrics.jsonl"
	stateFormat      = "sinktrain-trainer-state"
	stateVersion     = 1
)

// TrainerState is trainer_state.json: everything besides weights and
// moments needed to continue a run exactly.
type TrainerState struct {
	Format   string          `json:"format"`  // "sinktrain-trainer-state"
	Version  int             `json:"version"` // 1
	Step     int             `json:"step"`    // completed optimizer steps
	Tokens   int64           `json:"tokens"`  // text tokens consumed
	Steps    int             `json:"steps"`   // planned steps of the run
	Loader   json.RawMessage `json:"loader"`  // data loader state (seed, step, block size)
	RNG      RNGState        `json:"rng"`
	AdamStep int             `json:"adam_step"` // AdamW's t
	Workers  int             `json:"workers"`   // bit-identical resume needs the same count
	Config   Config          `json:"config"`
}

// RNGState records the run's only randomness: the seed of weight init and of
// the loader (whose position is in Loader).
type RNGState struct {
	Seed uint64 `json:"seed"`
}

// runDir writes a run's files: metrics.jsonl, checkpoints, final model.
type runDir struct {
	dir       string
	tokenizer []byte // tokenizer.json content
	lastStep  int    // step of the last checkpoint written (or resumed from); -1 none
}

func (r *runDir) lastGood() string {
	if r.lastStep < 0 {
		return "no checkpoint was written yet"
	}
	return "the last good checkpoint is " + checkpoint.CheckpointDir(r.dir, r.lastStep)
}

// optimizerFile encodes the AdamW moments under PyTorch's state names.
func (o *AdamW) optimizerFile() checkpoint.FileWriter {
	return func(w *bufio.Writer) error {
		raw := make(map[string]checkpoint.Raw, 2*len(o.params))
		for _, p := range o.params {
			raw["exp_avg."+p.spec.Name] = checkpoint.FromFloat32(p.spec.Shape, p.m)
			raw["exp_avg_sq."+p.spec.Name] = checkpoint.FromFloat32(p.spec.Shape, p.v)
		}
		meta := map[string]string{"format": "sinktrain-adamw", "step": strconv.Itoa(o.T)}
		return checkpoint.EncodeSafetensors(w, raw, meta)
	}
}

// loadOptimizer restores the moments from path, checking names and shapes.
func (o *AdamW) load(path string, t int) error {
	raw, _, err := checkpoint.ReadSafetensors(path)
	if err != nil {
		return err
	}
	if len(raw) != 2*len(o.params) {
		return fmt.Errorf("%s: %d tensors, expected %d (exp_avg and exp_avg_sq of every parameter)", path, len(raw), 2*len(o.params))
	}
	for _, p := range o.params {
		for _, mv := range []struct {
			name string
			dst  []float32
		}{{"exp_avg." + p.spec.Name, p.m}, {"exp_avg_sq." + p.spec.Name, p.v}} {
			r, ok := raw[mv.name]
			if !ok {
				return fmt.Errorf("%s: tensor %s is missing", path, mv.name)
			}
			if r.DType != checkpoint.F32 || r.NumElements() != len(mv.dst) {
				return fmt.Errorf("%s: tensor %s is %s %v, expected F32 %v", path, mv.name, r.DType, r.Shape, p.spec.Shape)
			}
			d, err := r.Float32s()
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			copy(mv.dst, d)
		}
	}
	o.T = t
	return nil
}

// checkpoint writes RUN/checkpoint-NNNNNN atomically (model files,
// optimizer moments, trainer state), prunes old ones and refreshes the final
// model files at the top of the run directory.
func (t *trainer) checkpoint() error {
	ls, err := t.src.SaveState()
	if err != nil {
		return fmt.Errorf("loader state: %w", err)
	}
	st := TrainerState{Format: stateFormat, Version: stateVersion, Step: t.step, Tokens: t.tokens, Steps: t.steps,
		Loader: ls, RNG: RNGState{Seed: t.cfg.Seed}, AdamStep: t.opt.T, Workers: len(t.workers), Config: t.cfg}
	sb, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	m := &checkpoint.Model{Config: t.mcfg, Weights: t.w}
	dir := checkpoint.CheckpointDir(t.run.dir, t.step)
	err = checkpoint.Save(dir, m, checkpoint.SaveOptions{Tokenizer: t.run.tokenizer, Train: t.cfg.JSON(),
		Files: map[string]checkpoint.FileWriter{
			OptimizerFile:    t.opt.optimizerFile(),
			TrainerStateFile: func(w *bufio.Writer) error { _, err := w.Write(append(sb, '\n')); return err },
		}})
	if err != nil {
		return fmt.Errorf("checkpoint at step %d: %w (%s)", t.step, err, t.run.lastGood())
	}
	t.run.lastStep = t.step
	return t.publish()
}

// publish prunes old checkpoints and refreshes the final model files at the
// top of the run directory from the current weights. A resumed run that
// was killed after its last checkpoint calls it too, so the top-level files
// are never left from an older step.
func (t *trainer) publish() error {
	if err := checkpoint.PruneCheckpoints(t.run.dir, t.cfg.KeepCheckpoints); err != nil {
		return err
	}
	m := &checkpoint.Model{Config: t.mcfg, Weights: t.w}
	if err := checkpoint.Save(t.run.dir, m, checkpoint.SaveOptions{Tokenizer: t.run.tokenizer, Train: t.cfg.JSON()}); err != nil {
		return fmt.Errorf("final model files: %w", err)
	}
	return nil
}

// readState reads and checks trainer_state.json of a checkpoint directory.
func readState(dir string) (*TrainerState, error) {
	p := filepath.Join(dir, TrainerStateFile)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	// Keys newer than the file keep the value that file's run had:
	// checkpoints from before the arch key are GPT-NeoX.
	st := TrainerState{Config: Config{Arch: string(model.GPTNeoX)}}
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", p, input.JSON(err))
	}
	if st.Format != stateFormat || st.Version != stateVersion {
		return nil, fmt.Errorf("%s: format %q version %d, expected %q version %d", p, st.Format, st.Version, stateFormat, stateVersion)
	}
	return &st, nil
}

// truncateMetrics drops metrics.jsonl lines after step (a resumed run
// rewrites them).
func truncateMetrics(path string, step int) error {
	fsutil.RemoveStaleTemps(path) // left by a run killed while truncating
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var keep []byte
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		var m struct {
			Step int `json:"step"`
		}
		if json.Unmarshal(line, &m) == nil && m.Step <= step {
			keep = append(keep, line...)
		}
	}
	return fsutil.WriteFileAtomic(path, func(w *bufio.Writer) error { _, err := w.Write(keep); return err })
}

// checkWeights verifies loaded weights against the model config.
func checkWeights(dir string, mcfg model.Config, w model.Weights) error {
	if err := w.Check(mcfg); err != nil {
		return fmt.Errorf("%s: the checkpoint does not match the model config: %w", dir, err)
	}
	return nil
}
