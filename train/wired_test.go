package train

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/checkpoint"
	"github.com/sinktrain/sinktrain/data"
	"github.com/sinktrain/sinktrain/data/shard"
	"github.com/sinktrain/sinktrain/data/tokenizer"
	"github.com/sinktrain/sinktrain/model"
	"github.com/sinktrain/sinktrain/model/graph"
	"github.com/sinktrain/sinktrain/sinktoken"
)

const fixtures = "../testdata/fixtures"

// fixtureDataset writes a prepared dataset (the fixture tokenizer, vocab 512
// with <|sink_0..3|>, and Alice paragraphs split 90/10 into train/val).
func fixtureDataset(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	ds, err := data.OpenDataset(filepath.Join(fixtures, "arrow/tokens.arrow"))
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	tr, err := ds.Split("train")
	if err != nil {
		t.Fatal(err)
	}
	all := tr.All(0)
	cut := len(all) * 9 / 10
	tok, err := os.ReadFile(filepath.Join(fixtures, "tokenizer/tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "tokenizer.json"), tok, 0o644)
	sum := sha256.Sum256(tok)
	m := &data.Manifest{Format: data.ManifestFormat, Version: data.ManifestVersion,
		Tokenizer: data.TokenizerInfo{File: "tokenizer.json", SHA256: hex.EncodeToString(sum[:]), VocabSize: 512}}
	for _, sp := range []struct {
		name string
		ids  []int32
	}{{"train", all[:cut]}, {"val", all[cut:]}} {
		info, err := shard.Write(filepath.Join(dir, sp.name+"-00000.arrow"), [][]int32{sp.ids})
		if err != nil {
			t.Fatal(err)
		}
		m.Shards = append(m.Shards, data.ShardEntry(info, sp.name))
	}
	if err := m.Write(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// small is a model and run small enough for 2 shared cores.
var small = []string{"hidden_size=32", "num_layers=2", "num_heads=2", "intermediate_size=64", "block_size=24",
	"batch=4", "max_steps=8", "warmup=2", "lr=3e-3", "min_lr=3e-4", "eval_interval=4", "eval_tokens=96",
	"checkpoint_interval=4", "keep_checkpoints=2", "log_interval=2", "workers=2"}

func pretrain(t *testing.T, dataDir, out string, resume bool, sets ...string) ([]float64, error) {
	t.Helper()
	var losses []float64
	o := Options{Data: dataDir, Out: out, Resume: resume, Set: append(slices.Clone(small), sets...),
		Log: testLog{t}, onStep: func(_ int, l float64) { losses = append(losses, l) }}
	return losses, Pretrain(context.Background(), o)
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func TestResumeExact(t *testing.T) {
	d := fixtureDataset(t)
	dir := t.TempDir()
	want, err := pretrain(t, d, filepath.Join(dir, "full"), false, "sinks=1")
	if err != nil {
		t.Fatal(err)
	}
	// Interrupt a run of the same length after step 3, then resume it.
	ctx, cancel := context.WithCancel(context.Background())
	intr := filepath.Join(dir, "intr")
	var got []float64
	o := Options{Data: d, Out: intr, Set: append(slices.Clone(small), "sinks=1"), Log: testLog{t},
		onStep: func(s int, l float64) {
			got = append(got, l)
			if s == 3 {
				cancel()
			}
		}}
	if err := Pretrain(ctx, o); err != nil {
		t.Fatal(err)
	}
	o.Resume, o.Set = true, nil
	if err := Pretrain(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d losses after resume, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("step %d: resumed %v != uninterrupted %v", i+1, got[i], want[i])
		}
	}
}

func TestWorkersAgree(t *testing.T) {
	d := fixtureDataset(t)
	dir := t.TempDir()
	steps := []string{"max_steps=20", "checkpoint_interval=0", "eval_interval=0", "batch=4"}
	one, err := pretrain(t, d, filepath.Join(dir, "1"), false, append(steps, "workers=1")...)
	if err != nil {
		t.Fatal(err)
	}
	two, err := pretrain(t, d, filepath.Join(dir, "2"), false, append(steps, "workers=2")...)
	if err != nil {
		t.Fatal(err)
	}
	for i := range one {
		if r := math.Abs(one[i]-two[i]) / one[i]; r > 1e-5 {
			t.Errorf("step %d: 1 worker %v, 2 workers %v (rel %.2g)", i+1, one[i], two[i], r)
		}
	}
}

// TestSinksTrain trains vanilla, 1-sink and 4-sink models and checks that the
// loss drops, the sink rows get gradients, and the checkpoint reloads with
// HF names and shapes and reproduces the training graph's logits.
func TestSinksTrain(t *testing.T) {
	d := fixtureDataset(t)
	for _, k := range []int{0, 1, 4} {
		out := filepath.Join(t.TempDir(), "run")
		losses, err := pretrain(t, d, out, false, "sinks="+string(rune('0'+k)), "max_steps=12", "lr=1e-2", "min_lr=1e-3")
		if err != nil {
			t.Fatal(err)
		}
		if last := losses[len(losses)-1]; !(last < losses[0]-0.5) {
			t.Errorf("k=%d: loss %v → %v, expected a drop", k, losses[0], last)
		}
		for _, dir := range []string{out, checkpoint.CheckpointDir(out, 12)} {
			m, err := checkpoint.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Config.SinkIDs) != k || len(m.Weights) != len(m.Config.ParamSpecs()) {
				t.Fatalf("k=%d %s: sinks %v, %d tensors", k, dir, m.Config.SinkIDs, len(m.Weights))
			}
			for _, s := range m.Config.ParamSpecs() {
				if !slices.Equal(m.Weights[s.Name].Shape, s.Shape) {
					t.Errorf("%s: %v, want %v", s.Name, m.Weights[s.Name].Shape, s.Shape)
				}
			}
		}
		m, _ := checkpoint.Load(out)
		raw, _, err := checkpoint.ReadSafetensors(filepath.Join(out, "model.safetensors"))
		if err != nil || len(raw) != len(m.Config.ParamSpecs()) {
			t.Fatalf("model.safetensors: %d tensors, %v", len(raw), err)
		}
		// Gradients of the sink rows of embed_in are non-zero.
		T := k + 24
		g, err := graph.New(m.Config, m.Weights, 2, T)
		if err != nil {
			t.Fatal(err)
		}
		var sinks []int32
		for _, id := range m.Config.SinkIDs {
			sinks = append(sinks, int32(id))
		}
		ids := make([]int32, 0, 2*T)
		for r := range 2 {
			block := make([]int32, 24)
			for i := range block {
				block[i] = int32(10 + (r*24+i)*7%400)
			}
			ids = append(ids, sinktoken.Sample(nil, sinks, block)...)
		}
		labels := sinktoken.Labels(nil, ids, sinks)
		if _, n, err := g.Step(ids, labels); err != nil || n != 2*(T-1)-2*max(k-1, 0) {
			t.Fatalf("k=%d: Step n=%d err=%v", k, n, err)
		}
		ge := g.Grad(model.EmbedIn)
		D := m.Config.HiddenSize
		for _, id := range m.Config.SinkIDs {
			var s float64
			for _, v := range ge[id*D : (id+1)*D] {
				s += math.Abs(float64(v))
			}
			if s == 0 {
				t.Errorf("k=%d: sink id %d has a zero embed_in gradient", k, id)
			}
		}
	}
}

// TestCheckpointLogits: a checkpoint's files reproduce the trained weights'
// logits exactly.
func TestCheckpointLogits(t *testing.T) {
	d := fixtureDataset(t)
	out := filepath.Join(t.TempDir(), "run")
	var trained model.Weights
	o := Options{Data: d, Out: out, Set: append(slices.Clone(small), "sinks=1", "max_steps=3"), Log: testLog{t}}
	ctx := context.Background()
	if err := Pretrain(ctx, o); err != nil {
		t.Fatal(err)
	}
	m, err := checkpoint.Load(checkpoint.CheckpointDir(out, 3))
	if err != nil {
		t.Fatal(err)
	}
	trained = m.Weights
	top, err := checkpoint.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int32, 25)
	ids[0] = int32(m.Config.SinkIDs[0])
	for i := 1; i < 25; i++ {
		ids[i] = int32(20 + i)
	}
	logits := func(w model.Weights) []float32 {
		g, err := graph.New(m.Config, w, 1, 25)
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Forward(ids); err != nil {
			t.Fatal(err)
		}
		return slices.Clone(g.Logits())
	}
	a, b := logits(trained), logits(top.Weights)
	if !slices.Equal(a, b) {
		t.Error("the run's model files give other logits than its last checkpoint")
	}
}

func TestBadInput(t *testing.T) {
	d := fixtureDataset(t)
	empty := t.TempDir()
	out := filepath.Join(t.TempDir(), "run")
	if _, err := pretrain(t, d, out, false, "max_steps=2", "checkpoint_interval=1"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		run  func() error
		want string
	}{
		{"no manifest", func() error { _, err := pretrain(t, empty, filepath.Join(empty, "o"), false); return err }, empty},
		{"unknown key", func() error { _, err := pretrain(t, d, filepath.Join(empty, "a"), false, "colour=red"); return err }, `unknown config key "colour"`},
		{"non-positive", func() error { _, err := pretrain(t, d, filepath.Join(empty, "b"), false, "batch=0"); return err }, "batch = 0"},
		{"too many sinks", func() error { _, err := pretrain(t, d, filepath.Join(empty, "c"), false, "sinks=5"); return err }, "<|sink_4|>"},
		{"resume mismatch", func() error { _, err := pretrain(t, d, out, true, "hidden_size=64"); return err }, "hidden_size = 64 here but 32 in the checkpoint"},
		{"existing run", func() error { _, err := pretrain(t, d, out, false); return err }, "already holds checkpoint-000002: resume it"},
		{"resume nothing", func() error { _, err := pretrain(t, d, empty, true); return err }, "no checkpoint"},
		{"finetune mismatch", func() error {
			return Finetune(context.Background(), FinetuneOptions{From: out, Options: Options{Data: d, Out: filepath.Join(empty, "ft"), Set: []string{"num_layers=3"}, Log: testLog{t}}})
		}, "num_layers = 3 here but 2 in the checkpoint"},
		// NaN loss with the real graph waits for autograd's GELU to accept NaN
		// (autograd/erf.go normal() indexes its table with int(NaN)); TestNaNStops
		// covers the trainer's side with the stand-in graph.
	}
	for _, c := range cases {
		err := c.run()
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line containing %q", c.name, err, c.want)
		}
		t.Logf("%s: %v", c.name, err)
	}
}

func TestFinetuneAddSinks(t *testing.T) {
	d := fixtureDataset(t)
	base := filepath.Join(t.TempDir(), "base")
	if _, err := pretrain(t, d, base, false, "max_steps=2"); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "ft")
	var losses []float64
	err := Finetune(context.Background(), FinetuneOptions{From: base, AddSinks: 1, Options: Options{Data: d, Out: out,
		Set: append(slices.Clone(small), "max_steps=3"), Log: testLog{t}, onStep: func(_ int, l float64) { losses = append(losses, l) }}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := checkpoint.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Config.SinkIDs) != 1 || len(losses) != 3 {
		t.Errorf("finetuned model sinks %v, %d steps", m.Config.SinkIDs, len(losses))
	}
	tok, err := tokenizer.Load(filepath.Join(out, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := tok.TokenID(sinktoken.TokenName(0)); !ok || int(id) != m.Config.SinkIDs[0] {
		t.Errorf("tokenizer sink id %d %v, config %v", id, ok, m.Config.SinkIDs)
	}
}

// BenchmarkTrainReference measures optimizer steps of the reference config
// (V=4096 on a synthetic stream) with one worker per core and with one worker.
func BenchmarkTrainReference(b *testing.B) { benchTrain(b, "reference") }

// BenchmarkTrainReferenceLlama is BenchmarkTrainReference for the Llama twin
// of the reference config (configs/reference-llama.json).
func BenchmarkTrainReferenceLlama(b *testing.B) { benchTrain(b, "reference-llama") }

func benchTrain(b *testing.B, preset string) {
	for _, workers := range []int{runtimeCPUs(), 1} {
		b.Run("workers="+strconv.Itoa(workers), func(b *testing.B) {
			cfg, err := Resolve(Defaults(), preset, []string{"batch=8"})
			if err != nil {
				b.Fatal(err)
			}
			rt, err := Runtime{Workers: workers}.resolve(cfg.Batch)
			if err != nil {
				b.Fatal(err)
			}
			mcfg := cfg.Model(4096, nil)
			tr, err := newTrainer(cfg, rt, mcfg, model.Init(mcfg, 1), newModelGraph)
			if err != nil {
				b.Fatal(err)
			}
			tr.src = &sliceSource{toks: patternStream(200000, 0, 4096), block: cfg.BlockSize}
			// One untimed step: the graphs allocate their activation buffers
			// (hundreds of MiB, faulted in as huge pages) on their first run.
			if _, err := tr.trainStep(); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if _, err := tr.trainStep(); err != nil {
					b.Fatal(err)
				}
				tr.opt.Clip(cfg.GradClip)
				tr.opt.Step(1e-3)
			}
			b.ReportMetric(float64(b.N)*float64(cfg.TokensPerStep())/b.Elapsed().Seconds(), "tok/s")
		})
	}
}
