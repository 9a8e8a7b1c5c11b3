package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	"github.com/sinktrain/sinktrain/checkpoint"
	"github.com/sinktrain/sinktrain/internal/input"
	"github.com/sinktrain/sinktrain/model"
)

// job is everything one run needs, assembled by Pretrain or Finetune.
type job struct {
	cfg       Config
	rt        Runtime // resolved (Runtime.resolve)
	mcfg      model.Config
	weights   func() (model.Weights, error) // fresh start: initial weights
	newGraph  newGraphFunc
	src       source
	val       windows
	tokenizer []byte // tokenizer.json content saved with every checkpoint
	out       string
	resume    *resumePoint // nil: fresh start
	data      *DataRecord  // the dataset, recorded in every checkpoint (nil: none)
	notes     []string     // logged before training ("note: …")
	log       io.Writer
	onStep    func(step int, loss float64)
}

// resumePoint is the newest checkpoint of a run directory.
type resumePoint struct {
	dir   string
	state *TrainerState
}

// findResume returns the newest checkpoint of out, or nil when there is none.
func findResume(out string) (*resumePoint, error) {
	dir, _, err := checkpoint.LatestCheckpoint(out)
	if err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, nil
	}
	st, err := readState(dir)
	if err != nil {
		return nil, err
	}
	return &resumePoint{dir: dir, state: st}, nil
}

// plural returns "1 sink", "2 sinks".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// run trains the job to its end (or to a cancelled ctx) and returns nil on
// success or interruption.
func (j *job) run(ctx context.Context) error {
	if err := os.MkdirAll(j.out, 0o755); err != nil {
		return input.File("Out", "run directory", j.out, err)
	}
	var w model.Weights
	var err error
	if j.resume != nil {
		m, err := checkpoint.Load(j.resume.dir)
		if err != nil {
			return err
		}
		if err := checkWeights(j.resume.dir, j.mcfg, m.Weights); err != nil {
			return err
		}
		w = m.Weights
	} else if w, err = j.weights(); err != nil {
		return err
	}
	if err := w.Check(j.mcfg); err != nil {
		return fmt.Errorf("initial weights: %w", err)
	}
	t, err := newTrainer(j.cfg, j.rt, j.mcfg, w, j.newGraph)
	if err != nil {
		return err
	}
	t.src, t.val, t.onStep = j.src, j.val, j.onStep
	t.run = &runDir{dir: j.out, tokenizer: j.tokenizer, data: j.data, lastStep: -1}
	metrics := filepath.Join(j.out, MetricsFile)
	if r := j.resume; r != nil {
		st := r.state
		if err := t.opt.load(filepath.Join(r.dir, OptimizerFile), st.AdamStep); err != nil {
			return err
		}
		if err := t.src.RestoreState(st.Loader); err != nil {
			return fmt.Errorf("%s: %w", r.dir, err)
		}
		t.step, t.tokens, t.run.lastStep = st.Step, st.Tokens, st.Step
		if err := truncateMetrics(metrics, st.Step); err != nil {
			return err
		}
	} else if err := os.Remove(metrics); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if t.log, err = newLogger(j.log, metrics); err != nil {
		return err
	}
	if j.resume != nil {
		t.log.printf("resuming from %s (step %d of %d)\n", j.resume.dir, t.step, t.steps)
		if j.resume.state.Workers != len(t.workers) {
			t.log.printf("note: the checkpoint was written with %s, this run has %d: losses match within float rounding, not bit for bit\n", plural(j.resume.state.Workers, "worker"), len(t.workers))
		}
	}
	notes := j.notes
	if cores := runtime.GOMAXPROCS(0); len(t.workers) > cores {
		notes = append(notes, fmt.Sprintf("%d workers on %d cores: graphs share cores, which is slower than one per core (the count changes speed, not results)", len(t.workers), cores))
	}
	for _, n := range notes {
		t.log.printf("note: %s\n", n)
	}
	t.log.printf("model: %s, %d params, %d layers, d=%d, %d heads (%d kv), %s, %s attention; %s × %d threads; %d steps of %d tokens\n",
		withModel(j.cfg, j.mcfg).Arch, j.mcfg.NumParams(), j.mcfg.NumLayers, j.mcfg.HiddenSize, j.mcfg.NumHeads, j.mcfg.KVHeads(),
		plural(len(j.mcfg.SinkIDs), "sink"), j.mcfg.Attention, plural(len(t.workers), "worker"), j.rt.BLASThreads, t.steps, j.cfg.TokensPerStep())
	if j.resume != nil && t.step >= t.steps {
		// Killed after the last checkpoint, maybe while writing the final files.
		if err := t.publish(); err != nil {
			return err
		}
	}
	err = t.loop(ctx)
	if errors.Is(err, errInterrupted) {
		t.log.printf("interrupted at step %d; checkpoint %s written; resuming from it continues the run exactly\n",
			t.step, checkpoint.CheckpointDir(j.out, t.step))
		return nil
	}
	if err != nil {
		return err
	}
	t.log.printf("done: %d steps; model in %s, checkpoints in %s\n", t.step, j.out, checkpoint.CheckpointDir(j.out, t.step))
	return nil
}
