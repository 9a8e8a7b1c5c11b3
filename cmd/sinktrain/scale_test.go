package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/checkpoint"
	"github.com/sinktrain/sinktrain/data"
	"github.com/sinktrain/sinktrain/train"
)

// TestScaleRunLayout: run directories written by the GPU recipe's writer
// (scripts/scale/fake_run.py: the recipe's own functions, weights from
// Python's random, no torch) load in sinktrain with every value intact, and
// eval stream, compare, inspect attention and compare report read them
// unchanged. The recipe refuses a dataset whose sha256 does not match.
func TestScaleRunLayout(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is needed to check scripts/scale: %v", err)
	}
	dir := t.TempDir()
	ctx := context.Background()
	sink := func(args ...string) string {
		t.Helper()
		var so, se bytes.Buffer
		if code := run(ctx, args, &so, &se); code != 0 {
			t.Fatalf("sinktrain %s: exit %d: %s", strings.Join(args, " "), code, se.String())
		}
		return so.String()
	}
	ds := filepath.Join(dir, "data")
	sink("prepare", "--out", ds, "--vocab-size", "300")

	type fake struct {
		Tensors map[string]float64 `json:"tensors"`
		SinkIDs []int              `json:"sink_ids"`
	}
	write := func(name string, sets ...string) (string, fake) {
		t.Helper()
		out := filepath.Join(dir, name)
		args := []string{"../../scripts/scale/fake_run.py", "--data", ds, "--config", "tiny", "--out", out, "--step", "3"}
		for _, s := range sets {
			args = append(args, "--set", s)
		}
		cmd := exec.Command(py, args...)
		var so, se bytes.Buffer
		cmd.Stdout, cmd.Stderr = &so, &se
		if err := cmd.Run(); err != nil {
			t.Fatalf("fake_run.py %v: %v: %s", sets, err, se.String())
		}
		var f fake
		if err := json.Unmarshal(so.Bytes(), &f); err != nil {
			t.Fatal(err)
		}
		return out, f
	}
	vanilla, fv := write("vanilla")
	sinks, fs := write("sinks2", "sinks=2", "attention=sink_logit")
	llama, fl := write("llama", "arch=llama", "num_kv_heads=1", "tie_embeddings=true", "sinks=1", "attention=sink_logit")

	for _, tc := range []struct {
		dir   string
		f     fake
		sinks int
		att   string
	}{{vanilla, fv, 0, "softmax"}, {sinks, fs, 2, "sink_logit"}, {llama, fl, 1, "sink_logit"}} {
		for _, d := range []string{tc.dir, checkpoint.CheckpointDir(tc.dir, 3)} {
			m, err := checkpoint.Load(d)
			if err != nil {
				t.Fatalf("load %s: %v", d, err)
			}
			if len(m.Config.SinkIDs) != tc.sinks || string(m.Config.Attention) != tc.att || m.TokenizerPath == "" {
				t.Errorf("%s: %d sinks %v, attention %s, tokenizer %q", d, len(m.Config.SinkIDs), m.Config.SinkIDs, m.Config.Attention, m.TokenizerPath)
			}
			for i, id := range tc.f.SinkIDs {
				if m.Config.SinkIDs[i] != id {
					t.Errorf("%s: sink id %d = %d, the recipe wrote %d", d, i, m.Config.SinkIDs[i], id)
				}
			}
			if len(m.Weights) != len(tc.f.Tensors) {
				t.Errorf("%s: %d tensors, the recipe wrote %d", d, len(m.Weights), len(tc.f.Tensors))
			}
			for name, want := range tc.f.Tensors {
				w, ok := m.Weights[name]
				if !ok {
					t.Errorf("%s: tensor %s missing", d, name)
					continue
				}
				var s float64
				for _, v := range w.Data {
					s += float64(v)
				}
				if math.Abs(s-want) > 1e-9*(1+math.Abs(want)) {
					t.Errorf("%s: tensor %s sums to %v, the recipe wrote %v", d, name, s, want)
				}
			}
		}
		var st train.TrainerState
		b, err := os.ReadFile(filepath.Join(checkpoint.CheckpointDir(tc.dir, 3), train.TrainerStateFile))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatal(err)
		}
		var ls data.LoaderState
		if err := json.Unmarshal(st.Loader, &ls); err != nil {
			t.Fatal(err)
		}
		if st.Format != "sinktrain-trainer-state" || st.Version != 1 || st.Step != 3 || st.AdamStep != 3 ||
			ls.Step != 3 || ls.BlockSize != 64 || st.Config.BlockSize != 64 || st.Config.Sinks != tc.sinks {
			t.Errorf("%s: trainer state %+v, loader %+v", tc.dir, st, ls)
		}
		raw, _, err := checkpoint.ReadSafetensors(filepath.Join(checkpoint.CheckpointDir(tc.dir, 3), train.OptimizerFile))
		if err != nil || len(raw) != 2*len(tc.f.Tensors) {
			t.Errorf("%s: optimizer.safetensors: %d tensors, %v", tc.dir, len(raw), err)
		}
		mb, err := os.ReadFile(filepath.Join(tc.dir, train.MetricsFile))
		var ml map[string]any
		if err != nil || json.Unmarshal(bytes.TrimSpace(mb), &ml) != nil || ml["step"] != 3.0 || ml["val_loss"] == nil || ml["grad_norm"] == nil {
			t.Errorf("%s: metrics.jsonl %q: %v", tc.dir, mb, err)
		}
	}

	for _, m := range []string{sinks, llama} {
		out := sink("eval", "stream", "--model", m, "--data", ds, "--cache", "2+30", "--cache", "dense", "--max-tokens", "200", "--json")
		if n := strings.Count(out, `"ppl"`); n != 2 {
			t.Errorf("eval stream %s printed %d results: %s", m, n, out)
		}
	}
	if m, err := checkpoint.Load(llama); err != nil {
		t.Error(err)
	} else if c := m.Config; c.Arch != "llama" || !c.TieWordEmbeddings || c.KVHeads() != 1 {
		t.Errorf("the recipe's llama run loads as %+v", c)
	}
	text := filepath.Join(dir, "text.txt")
	if err := os.WriteFile(text, bytes.Repeat([]byte("It was the best of times, it was the worst of times. "), 20), 0o644); err != nil {
		t.Fatal(err)
	}
	cmp := filepath.Join(dir, "compare")
	sink("compare", "--model", "vanilla="+vanilla, "--model", "sinks2="+sinks, "--text", text, "--cache", "0+32",
		"--cache", "2+30", "--cache", "recompute:16", "--max-tokens", "150", "--out", cmp)
	insp := filepath.Join(dir, "inspect")
	sink("inspect", "attention", "--model", sinks, "--text", text, "--tokens", "64", "--out", insp)
	rep := filepath.Join(dir, "report.md")
	sink("compare", "report", "--compare", cmp, "--inspect", "sinks2="+insp, "--out", rep)
	for _, f := range []string{filepath.Join(cmp, "results.json"), filepath.Join(insp, "attention.json"), rep} {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}

	// A shard changed after prepare: the recipe refuses it in one line, before torch.
	bad := filepath.Join(dir, "bad")
	sink("prepare", "--out", bad, "--vocab-size", "300")
	shard := filepath.Join(bad, "val-00000.arrow")
	b, err := os.ReadFile(shard)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	if err := os.WriteFile(shard, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "../../scripts/scale/pretrain.py", "--data", bad, "--config", "tiny", "--out", filepath.Join(dir, "badrun"))
	var se bytes.Buffer
	cmd.Stderr = &se
	err = cmd.Run()
	msg := strings.TrimSpace(se.String())
	if err == nil || cmd.ProcessState.ExitCode() != 1 || !strings.Contains(msg, "sha256") || strings.Contains(msg, "\n") {
		t.Errorf("changed shard: %v, stderr %q; want exit 1 and one line naming the sha256", err, msg)
	}
	if _, err := os.Stat(filepath.Join(dir, "badrun")); err == nil {
		t.Errorf("a refused run left %s behind", filepath.Join(dir, "badrun"))
	}
}
