package train

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sinktrain/sinktrain/checkpoint"
	"github.com/sinktrain/sinktrain/model"
)

// readTrainerState reads trainer_state.json of the newest checkpoint of out.
func readTrainerState(t *testing.T, out string) *TrainerState {
	t.Helper()
	rp, err := findResume(out)
	if err != nil || rp == nil {
		t.Fatalf("findResume(%s): %v, %v", out, rp, err)
	}
	return rp.state
}

// TestResumeRemembersData: a run records its dataset (path, manifest and
// tokenizer sha256, train tokens) and whole config; --resume without --data
// trains on it again (also from another working directory), the same
// dataset given by another path is accepted, and another dataset or a
// --set of a key the run keeps is refused with the reason, before anything
// is written.
func TestResumeRemembersData(t *testing.T) {
	d := fixtureDataset(t)
	out := filepath.Join(t.TempDir(), "run")
	if _, err := pretrain(t, d, out, false, "max_steps=4", "checkpoint_interval=2"); err != nil {
		t.Fatal(err)
	}
	st := readTrainerState(t, out)
	man, _ := fileSHA256(filepath.Join(d, "manifest.json"))
	tok, _ := fileSHA256(filepath.Join(d, "tokenizer.json"))
	abs, _ := filepath.Abs(d)
	if st.Data == nil || st.Data.Path != abs || st.Data.ManifestSHA256 != man || st.Data.TokenizerSHA256 != tok || st.Data.TrainTokens == 0 {
		t.Fatalf("recorded dataset %+v, want path %s, manifest %s, tokenizer %s", st.Data, abs, man, tok)
	}
	if st.Config.VocabSize != 512 || st.Config.HiddenSize != 32 || st.Config.MaxSteps != 4 {
		t.Errorf("stored config %+v: want vocab_size 512 (the model's), hidden_size 32, max_steps 4", st.Config)
	}

	// Resume without --data, longer: trains on the recorded dataset.
	o := Options{Out: out, Resume: true, Set: []string{"max_steps=6"}, Log: testLog{t}}
	if err := Pretrain(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if st := readTrainerState(t, out); st.Step != 6 || st.Data.Path != abs {
		t.Errorf("after resume: step %d, data %+v", st.Step, st.Data)
	}
	if _, err := os.Stat(filepath.Join(out, "data")); err == nil {
		t.Error("resume prepared the embedded text into the run although it records its dataset")
	}

	// The same dataset by another path is the run's dataset.
	moved := filepath.Join(t.TempDir(), "moved")
	if err := os.Rename(d, moved); err != nil {
		t.Fatal(err)
	}
	o.Data, o.Set = moved, []string{"max_steps=7"}
	if err := Pretrain(context.Background(), o); err != nil {
		t.Fatalf("resume with the moved dataset: %v", err)
	}
	if err := os.Rename(moved, d); err != nil {
		t.Fatal(err)
	}

	other := fixtureDataset(t)
	os.WriteFile(filepath.Join(other, "extra.txt"), nil, 0o644)
	man2 := filepath.Join(other, "manifest.json")
	var m map[string]any
	b, _ := os.ReadFile(man2)
	json.Unmarshal(b, &m)
	m["sources"] = []string{"elsewhere"} // another manifest, same shards
	b, _ = json.Marshal(m)
	os.WriteFile(man2, b, 0o644)
	before := readTrainerState(t, out).Step
	for _, c := range []struct {
		name string
		o    Options
		want []string
	}{
		{"another dataset", Options{Out: out, Resume: true, Data: other}, []string{"dataset " + other + ": is not the dataset the run in " + out + " was trained on", "manifest.json sha256", "resume without it"}},
		{"a kept key", Options{Out: out, Resume: true, Set: []string{"lr=1e-2"}}, []string{`override "lr=1e-2": the run in ` + out + " was trained with lr = 0.003", "max_steps, max_tokens"}},
		{"the model", Options{Out: out, Resume: true, Set: []string{"sinks=1"}}, []string{`override "sinks=1"`, "sinks = 0"}},
		{"a preset", Options{Out: out, Resume: true, Config: "tiny"}, []string{"config tiny: sets hidden_size = 64", "hidden_size = 32"}},
	} {
		c.o.Log = testLog{t}
		err := Pretrain(context.Background(), c.o)
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %v, want it to contain %q", c.name, err, w)
			}
		}
		if st := readTrainerState(t, out); st.Step != before {
			t.Errorf("%s: the refused resume trained (step %d → %d)", c.name, before, st.Step)
		}
	}

	// A changed dataset (at the recorded path) is refused too.
	os.WriteFile(filepath.Join(d, "manifest.json"), b, 0o644)
	if err := Pretrain(context.Background(), Options{Out: out, Resume: true, Log: testLog{t}}); err == nil || !strings.Contains(err.Error(), "has changed") {
		t.Errorf("resume on a changed dataset: %v", err)
	}
}

// TestVocabStored: a preset's vocab_size does not survive a dataset of
// another vocabulary: config.json's train section and trainer_state.json
// store the trained model's, and the same command with --resume works.
func TestVocabStored(t *testing.T) {
	d := fixtureDataset(t)
	out := filepath.Join(t.TempDir(), "run")
	sets := []string{"max_steps=2", "vocab_size=4096"}
	if _, err := pretrain(t, d, out, false, sets...); err != nil {
		t.Fatal(err)
	}
	m, err := checkpoint.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	var train Config
	if err := json.Unmarshal(m.Sinktrain.Train, &train); err != nil {
		t.Fatal(err)
	}
	if m.Config.VocabSize != 512 || train.VocabSize != 512 || readTrainerState(t, out).Config.VocabSize != 512 {
		t.Errorf("model vocab %d, stored train vocab_size %d, trainer state %d; want 512 everywhere", m.Config.VocabSize, train.VocabSize, readTrainerState(t, out).Config.VocabSize)
	}
	if _, err := pretrain(t, d, out, true, "max_steps=3", "vocab_size=4096"); err != nil {
		t.Errorf("the same command plus --resume: %v", err)
	}
}

// TestFinetuneSourceConfig: finetune starts from the source run's config
// (block size, batch, lr …), not the defaults; --set overrides it; its
// warmup fits a short run unless set.
func TestFinetuneSourceConfig(t *testing.T) {
	d := fixtureDataset(t)
	base := filepath.Join(t.TempDir(), "base")
	if _, err := pretrain(t, d, base, false, "max_steps=2", "warmup=5", "lr=2e-3"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		sets   []string
		warmup int
		lr     float64
	}{
		{[]string{"max_steps=20"}, 2, 2e-3},
		{[]string{"max_steps=200"}, 5, 2e-3},
		{[]string{"max_steps=20", "warmup=7", "lr=1e-3"}, 7, 1e-3},
	} {
		out := filepath.Join(t.TempDir(), "ft")
		var steps int
		err := Finetune(context.Background(), FinetuneOptions{From: base, Options: Options{Data: d, Out: out, Set: append(c.sets, "workers=2"), Log: testLog{t},
			onStep: func(s int, _ float64) { steps = s }}})
		if err != nil {
			t.Fatal(err)
		}
		got := readTrainerState(t, out).Config
		if got.BlockSize != 24 || got.Batch != 4 || got.HiddenSize != 32 || got.Warmup != c.warmup || got.LR != c.lr || got.MaxSteps != steps {
			t.Errorf("%v: block %d batch %d d %d warmup %d lr %g steps %d/%d; want the source's 24, 4, 32, warmup %d, lr %g",
				c.sets, got.BlockSize, got.Batch, got.HiddenSize, got.Warmup, got.LR, steps, got.MaxSteps, c.warmup, c.lr)
		}
	}
}

// TestFreshRunLeavesNothing: a run whose loss becomes NaN before its first
// checkpoint removes what it wrote (the directory it made, or its files in
// an empty one) and says so; the error is one line naming the step.
func TestFreshRunLeavesNothing(t *testing.T) {
	d := fixtureDataset(t)
	nan := []string{"lr=1e30", "min_lr=1e29", "grad_clip=0", "warmup=0", "max_steps=8", "checkpoint_interval=100"}
	for _, existing := range []bool{false, true} {
		out := filepath.Join(t.TempDir(), "run")
		if existing {
			os.Mkdir(out, 0o755)
		}
		_, err := pretrain(t, d, out, false, nan...)
		if err == nil || !strings.Contains(err.Error(), "at step") || !strings.Contains(err.Error(), "nothing of this run is left in "+out) || strings.Contains(err.Error(), "\n") {
			t.Errorf("existing %v: error %v", existing, err)
		}
		t.Log(err)
		ents, statErr := os.ReadDir(out)
		if existing && (statErr != nil || len(ents) > 0) || !existing && statErr == nil {
			t.Errorf("existing %v: %s holds %v (%v) after the failed run", existing, out, ents, statErr)
		}
	}
}

// TestCheckOut: a fresh run refuses a directory that is not empty and is
// no run of its own, before reading any data.
func TestCheckOut(t *testing.T) {
	out := t.TempDir()
	os.WriteFile(filepath.Join(out, "notes.txt"), []byte("mine"), 0o644)
	err := Pretrain(context.Background(), Options{Out: out, Data: filepath.Join(out, "nodata"), Log: testLog{t}})
	if err == nil || !strings.Contains(err.Error(), "is not empty and holds no sinktrain run (notes.txt)") {
		t.Errorf("error %v", err)
	}
	os.Remove(filepath.Join(out, "notes.txt"))
	os.Mkdir(filepath.Join(out, "data"), 0o755)
	if err := (&Options{Out: out}).checkOut(); err != nil {
		t.Errorf("a directory holding only data/ (the embedded text): %v", err)
	}
	if err := (&Options{Out: out, Data: "elsewhere"}).checkOut(); err == nil {
		t.Error("data/ beside another --data was accepted")
	}
	// What a run killed before its first checkpoint leaves is its own.
	os.WriteFile(filepath.Join(out, MetricsFile), []byte(`{"step":1}`+"\n"), 0o644)
	os.Mkdir(filepath.Join(out, ".checkpoint-000002.tmp-123"), 0o755)
	if err := (&Options{Out: out}).checkOut(); err != nil {
		t.Errorf("the leftovers of a killed run: %v", err)
	}
}

// TestMemoryNeed: the estimate is a lower bound of what a real trainer
// holds after a step (RSS growth), not far below it, and absurd sizes are
// refused by checkMemory before anything is allocated.
func TestMemoryNeed(t *testing.T) {
	cfg, err := Resolve(Defaults(), "", []string{"hidden_size=128", "num_layers=2", "num_heads=2", "block_size=64", "batch=8", "max_steps=1"})
	if err != nil {
		t.Fatal(err)
	}
	const vocab = 4096
	rt, err := Runtime{Workers: 2}.resolve(cfg.Batch)
	if err != nil {
		t.Fatal(err)
	}
	need := memoryNeed(cfg, vocab, rt.Workers)
	runtime.GC()
	before := rssBytes(t)
	mcfg := cfg.Model(vocab, nil)
	tr, err := newTrainer(cfg, rt, mcfg, model.Init(mcfg, 1), newModelGraph)
	if err != nil {
		t.Fatal(err)
	}
	tr.src = &sliceSource{toks: patternStream(20000, 0, vocab), block: cfg.BlockSize}
	if _, err := tr.trainStep(); err != nil {
		t.Fatal(err)
	}
	grew := rssBytes(t) - before
	runtime.KeepAlive(tr)
	if need > grew || need < grew/4 {
		t.Errorf("estimate %.1f MB, the trainer grew RSS by %.1f MB: want estimate ≤ growth and within 4×", need/1e6, grew/1e6)
	}
	t.Logf("estimate %.1f MB, measured %.1f MB", need/1e6, grew/1e6)

	for _, sets := range [][]string{{"batch=1e9"}, {"hidden_size=1e6"}, {"hidden_size=1e9", "num_heads=1"}} {
		c, err := Resolve(Defaults(), "tiny", sets)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkMemory(c, 512, 2); err == nil || !strings.Contains(err.Error(), "of memory") && !strings.Contains(err.Error(), "more memory than any machine") {
			t.Errorf("%v: %v", sets, err)
		}
	}
	if math.IsNaN(memoryNeed(Config{}, 0, 0)) {
		t.Error("NaN estimate of an empty config")
	}
}

// rssBytes reads the resident set size of this process.
func rssBytes(t *testing.T) float64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseFloat(f[1], 64)
	return pages * float64(os.Getpagesize())
}

// TestProgressRate: the bar's tok/s is known from the first step (the mean
// since the run or resume started), not only after the first metrics line.
func TestProgressRate(t *testing.T) {
	l := &logger{}
	l.start(10, 100, 1000)
	if r := l.rate(10); r != 0 {
		t.Errorf("rate before any step = %v, want 0", r)
	}
	time.Sleep(20 * time.Millisecond)
	r := l.rate(11)
	if el := time.Since(l.began).Seconds(); !(r > 0 && r <= 1000/0.02 && r >= 1000/el) {
		t.Errorf("rate after one step of 1000 tokens in ≈20 ms = %v tok/s", r)
	}
}
