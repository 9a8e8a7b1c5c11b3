package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// sinktrain runs the CLI in-process and returns its exit code, stdout and
// stderr.
func sinktrain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// mustRun runs the CLI and fails the test unless it exits 0.
func mustRun(t *testing.T, args ...string) (string, string) {
	t.Helper()
	code, stdout, stderr := sinktrain(t, args...)
	if code != 0 {
		t.Fatalf("sinktrain %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
	}
	return stdout, stderr
}

// trainerState reads trainer_state.json of the newest checkpoint of run.
func trainerState(t *testing.T, run string) map[string]any {
	t.Helper()
	ms, _ := filepath.Glob(filepath.Join(run, "checkpoint-*", "trainer_state.json"))
	if len(ms) == 0 {
		t.Fatalf("no checkpoint in %s", run)
	}
	b, err := os.ReadFile(ms[len(ms)-1])
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// tiny are the budgets that make the README's runs take seconds.
var tiny = []string{"--set", "max_steps=4", "--set", "checkpoint_interval=2", "--set", "eval_interval=2", "--set", "eval_tokens=256", "--set", "log_interval=1", "--set", "batch=4"}

// TestREADMEFlows runs the README's training flows the way a new user
// meets them, with tiny budgets: --config tiny on a dataset of another
// vocabulary stores what was trained; --resume after --data trains on the
// recorded dataset (and refuses another); a finetune of the tiny run starts
// from its config and leaves warmup; eval stream on the finetuned model
// accepts its training data (a tokenizer that grew by a sink is the same
// tokenizer); generate on a Hugging Face folder without tokenizer.json
// says what is missing and works with --ids or --tokenizer.
func TestREADMEFlows(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	mustRun(t, "prepare", "--out", data, "--vocab-size", "700")

	// --config tiny (vocab_size 512) on a 700-token dataset.
	ref := filepath.Join(dir, "ref")
	_, log := mustRun(t, append([]string{"pretrain", "--config", "tiny", "--data", data, "--out", ref}, tiny...)...)
	if !strings.Contains(log, "note: vocab_size is 700") {
		t.Errorf("no note that the dataset's vocabulary replaces the preset's:\n%s", log)
	}
	var cfg struct {
		VocabSize int `json:"vocab_size"`
		Sinktrain struct {
			Train struct {
				VocabSize int `json:"vocab_size"`
				BlockSize int `json:"block_size"`
			} `json:"train"`
		} `json:"sinktrain"`
	}
	b, _ := os.ReadFile(filepath.Join(ref, "config.json"))
	if err := json.Unmarshal(b, &cfg); err != nil || cfg.VocabSize != 700 || cfg.Sinktrain.Train.VocabSize != 700 {
		t.Errorf("config.json vocab_size %d, train.vocab_size %d (%v); want 700 both", cfg.VocabSize, cfg.Sinktrain.Train.VocabSize, err)
	}

	// More workers than cores: a note, and the same run.
	w := filepath.Join(dir, "workers")
	_, log = mustRun(t, "pretrain", "--config", "tiny", "--data", data, "--out", w, "--set", "max_steps=1", "--set", "batch=4", "--set", "workers=64")
	if n := min(64, 4); n > runtime.GOMAXPROCS(0) && !strings.Contains(log, fmt.Sprintf("note: %d workers on %d cores", n, runtime.GOMAXPROCS(0))) {
		t.Errorf("no note about %d workers on %d cores:\n%s", n, runtime.GOMAXPROCS(0), log)
	}

	// README: sinktrain pretrain --out runs/ref --resume — from another
	// directory, without --data.
	wd, _ := os.Getwd()
	if err := os.Chdir(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	_, log = mustRun(t, "pretrain", "--out", ref, "--resume", "--set", "max_steps=6")
	os.Chdir(wd)
	if strings.Contains(log, "preparing the embedded text") {
		t.Errorf("resume prepared the embedded text instead of training on %s:\n%s", data, log)
	}
	if st := trainerState(t, ref); st["step"] != 6.0 || !strings.Contains(log, "note: resumed with max_steps 4 → 6") {
		t.Errorf("resume: step %v, log:\n%s", st["step"], log)
	}
	// The same command as the first run, plus --resume, works too.
	mustRun(t, append([]string{"pretrain", "--config", "tiny", "--data", data, "--out", ref, "--resume"}, append(tiny, "--set", "max_steps=7")...)...)
	other := filepath.Join(dir, "other")
	mustRun(t, "prepare", "--out", other, "--vocab-size", "600")
	if code, _, stderr := sinktrain(t, "pretrain", "--out", ref, "--resume", "--data", other); code != 1 || !strings.Contains(stderr, "--data "+other+": is not the dataset the run in "+ref+" was trained on") {
		t.Errorf("resume with another --data: exit %d, %s", code, stderr)
	}

	// README: finetune --from runs/tiny --add-sinks 1 --set max_steps=… .
	ft := filepath.Join(dir, "ft")
	mustRun(t, "finetune", "--from", ref, "--add-sinks", "1", "--data", data, "--out", ft, "--set", "max_steps=30", "--set", "checkpoint_interval=0", "--set", "log_interval=10")
	st := trainerState(t, ft)["config"].(map[string]any)
	if st["block_size"] != 64.0 || st["batch"] != 4.0 || st["lr"] != 3e-3 || st["warmup"] != 3.0 || st["sinks"] != 1.0 {
		t.Errorf("finetune config block %v batch %v lr %v warmup %v sinks %v: want tiny's 64, the run's 4, 3e-3, a tenth of 30 steps, 1 sink",
			st["block_size"], st["batch"], st["lr"], st["warmup"], st["sinks"])
	}
	out, _ := mustRun(t, "eval", "stream", "--model", ft, "--data", data, "--cache", "1+31", "--max-tokens", "200", "--json")
	if !strings.Contains(out, `"cache":"1+31"`) {
		t.Errorf("eval stream on the finetuned model: %s", out)
	}
	// A dataset of another tokenizer is refused, unless allowed.
	if code, _, stderr := sinktrain(t, "eval", "stream", "--model", ft, "--data", other, "--cache", "1+31", "--max-tokens", "200"); code != 1 || !strings.Contains(stderr, "--allow-different-tokenizers") {
		t.Errorf("eval stream on another tokenizer's data: exit %d, %s", code, stderr)
	}
	mustRun(t, "eval", "stream", "--model", ft, "--data", other, "--cache", "1+31", "--max-tokens", "200", "--allow-different-tokenizers")

	// A Hugging Face folder without tokenizer.json (convert of one).
	hf := filepath.Join(dir, "hf")
	mustRun(t, "convert", "--from", ft, "--out", hf, "--hf")
	tok := filepath.Join(dir, "tokenizer.json")
	b, _ = os.ReadFile(filepath.Join(hf, "tokenizer.json"))
	os.WriteFile(tok, b, 0o644)
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"} {
		os.Remove(filepath.Join(hf, f))
	}
	code, _, stderr := sinktrain(t, "generate", "--model", hf, "--cache", "1+31", "--prompt", "Alice was")
	if code != 1 || !strings.Contains(stderr, "has no tokenizer.json to encode --prompt: pass --tokenizer FILE, or give the prompt as token ids with --ids FILE") {
		t.Errorf("generate --prompt without a tokenizer: exit %d, %s", code, stderr)
	}
	ids := filepath.Join(dir, "prompt.ids")
	os.WriteFile(ids, []byte("5 6 7 8\n"), 0o644)
	out, _ = mustRun(t, "generate", "--model", hf, "--cache", "1+31", "--ids", ids, "--max-new-tokens", "5", "--temperature", "0")
	if !regexp.MustCompile(`^(\d+ ){1,5}\n$`).MatchString(out) {
		t.Errorf("generate --ids without a tokenizer printed %q, want up to 5 ids", out)
	}
	out, _ = mustRun(t, "generate", "--model", hf, "--cache", "1+31", "--tokenizer", tok, "--prompt", "Alice was", "--max-new-tokens", "20", "--temperature", "1", "--top-k", "0")
	if strings.TrimSpace(out) == "" || regexp.MustCompile(`^(\d+ )+\n$`).MatchString(out) {
		t.Errorf("generate --tokenizer printed %q, want text", out)
	}
}
