package train

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/checkpoint"
	"github.com/sinktrain/sinktrain/model"
)

// fakeJob is a small run over the bigram stand-in graph and a synthetic stream.
func fakeJob(t *testing.T, out string, sets ...string) (*job, *[]float64) {
	t.Helper()
	var rt Runtime
	sets, err := splitRuntime(&rt, append([]string{"hidden_size=16", "num_heads=2", "block_size=12", "batch=6",
		"max_steps=12", "warmup=2", "lr=0.05", "min_lr=0.005", "eval_interval=4", "eval_tokens=48",
		"checkpoint_interval=4", "keep_checkpoints=2", "log_interval=2", "workers=1"}, sets...))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Resolve(Defaults(), "", sets)
	if err != nil {
		t.Fatal(err)
	}
	if rt, err = rt.resolve(cfg.Batch); err != nil {
		t.Fatal(err)
	}
	const V = 40
	var sinks []int
	for i := range cfg.Sinks {
		sinks = append(sinks, i)
	}
	mcfg := cfg.Model(V, sinks)
	losses := &[]float64{}
	j := &job{cfg: cfg, rt: rt, mcfg: mcfg, newGraph: newBigram, out: out,
		weights:   func() (model.Weights, error) { return model.Init(mcfg, cfg.Seed), nil },
		src:       &sliceSource{toks: patternStream(5000, cfg.Sinks, V), block: cfg.BlockSize, seed: cfg.Seed},
		val:       &sliceSource{toks: patternStream(800, cfg.Sinks, V)[400:], block: cfg.BlockSize},
		tokenizer: []byte(`{"added_tokens":[{"id":0,"content":"<|sink_0|>","special":true},{"id":1,"content":"<|sink_1|>","special":true}],"pre_tokenizer":{"type":"ByteLevel"},"model":{"type":"BPE","vocab":{},"merges":[]}}`),
		onStep:    func(_ int, l float64) { *losses = append(*losses, l) },
	}
	return j, losses
}

func TestResumeExactFake(t *testing.T) {
	dir := t.TempDir()
	full, want := fakeJob(t, filepath.Join(dir, "full"), "sinks=1")
	if err := full.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Stop after step 6 via cancel: the run finishes the step, checkpoints, returns nil.
	ctx, cancel := context.WithCancel(context.Background())
	part, got := fakeJob(t, filepath.Join(dir, "part"), "sinks=1")
	part.onStep = func(s int, l float64) {
		*got = append(*got, l)
		if s == 6 {
			cancel()
		}
	}
	if err := part.run(ctx); err != nil {
		t.Fatal(err)
	}
	if len(*got) != 6 {
		t.Fatalf("interrupted run did %d steps, want 6", len(*got))
	}
	res, got2 := fakeJob(t, filepath.Join(dir, "part"), "sinks=1")
	rp, err := findResume(res.out)
	if err != nil || rp == nil || rp.state.Step != 6 {
		t.Fatalf("findResume: %+v %v", rp, err)
	}
	res.resume = rp
	if err := res.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	all := append(*got, *got2...)
	if len(all) != len(*want) {
		t.Fatalf("%d losses, want %d", len(all), len(*want))
	}
	for i := range all {
		if all[i] != (*want)[i] {
			t.Errorf("step %d: resumed loss %v != uninterrupted %v", i+1, all[i], (*want)[i])
		}
	}
	// Final weights are bit-identical too, and only the newest 2 checkpoints remain.
	a, _ := checkpoint.Load(filepath.Join(dir, "full"))
	b, _ := checkpoint.Load(filepath.Join(dir, "part"))
	for n, ta := range a.Weights {
		for i := range ta.Data {
			if ta.Data[i] != b.Weights[n].Data[i] {
				t.Fatalf("weight %s[%d] differs after resume", n, i)
			}
		}
	}
	cs, _ := checkpoint.Checkpoints(filepath.Join(dir, "part"))
	if len(cs) != 2 || cs[1].Step != 12 {
		t.Errorf("checkpoints %v, want the newest 2 ending at step 12", cs)
	}
	mb, _ := os.ReadFile(filepath.Join(dir, "part", MetricsFile))
	ma, _ := os.ReadFile(filepath.Join(dir, "full", MetricsFile))
	if strings.Count(string(mb), "\n") != strings.Count(string(ma), "\n") || !strings.Contains(string(mb), `"val_loss"`) {
		t.Errorf("metrics.jsonl after resume:\n%s\nuninterrupted:\n%s", mb, ma)
	}
}

func TestWorkersAgreeFake(t *testing.T) {
	dir := t.TempDir()
	one, l1 := fakeJob(t, filepath.Join(dir, "1"), "workers=1", "max_steps=20", "checkpoint_interval=0")
	three, l3 := fakeJob(t, filepath.Join(dir, "3"), "workers=3", "max_steps=20", "checkpoint_interval=0")
	for _, j := range []*job{one, three} {
		if err := j.run(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	for i := range *l1 {
		for _, o := range []float64{(*l3)[i]} {
			if d := math.Abs(o-(*l1)[i]) / (*l1)[i]; d > 1e-5 {
				t.Errorf("step %d: loss %v vs 1 worker %v (rel %.2g)", i+1, o, (*l1)[i], d)
			}
		}
	}
	if (*l1)[19] > 0.9*(*l1)[0] {
		t.Errorf("loss did not drop: %v", *l1)
	}
}

func TestNaNStops(t *testing.T) {
	dir := t.TempDir()
	j, _ := fakeJob(t, dir, "lr=1e30", "min_lr=1e29", "grad_clip=0", "warmup=0")
	err := j.run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "at step") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %v, want a one-line NaN error naming the step", err)
	}
	t.Log(err)
}

// TestResumeWorkerCountNote: a resume with the worker count of the
// checkpoint logs nothing about it; another count says that the losses
// match within float rounding only.
func TestResumeWorkerCountNote(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithCancel(context.Background())
	first, _ := fakeJob(t, out, "workers=1")
	first.onStep = func(s int, _ float64) {
		if s == 4 {
			cancel()
		}
	}
	if err := first.run(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		workers string
		note    bool
	}{{"workers=1", false}, {"workers=3", true}} {
		j, _ := fakeJob(t, out, c.workers, "max_steps=12")
		rp, err := findResume(out)
		if err != nil || rp == nil {
			t.Fatalf("findResume: %v %v", rp, err)
		}
		j.resume = rp
		j.cfg.MaxSteps = rp.state.Step + 1 // one more step, then stop
		var log strings.Builder
		j.log = &log
		if err := j.run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(log.String(), "the checkpoint was written with 1 worker, this run has 3"); got != c.note {
			t.Errorf("%s: worker-count note %v, want %v; log:\n%s", c.workers, got, c.note, log.String())
		}
	}
}
