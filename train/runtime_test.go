package train

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/configs"
)

// TestRuntimeNotInConfig: workers and blas_threads given as key=value
// overrides set the Runtime, not the Config, and the stored config has no
// runtime key; defaults come from GOMAXPROCS.
func TestRuntimeNotInConfig(t *testing.T) {
	o := &Options{Out: t.TempDir(), Set: []string{"batch=8", "workers=3", "blas_threads=2", "lr=2e-3"}}
	cfg, rt, _, err := o.resolve(Defaults(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rt != (Runtime{Workers: 3, BLASThreads: 2}) || cfg.Batch != 8 || cfg.LR != 2e-3 {
		t.Fatalf("runtime %+v, config batch %d lr %v", rt, cfg.Batch, cfg.LR)
	}
	var stored map[string]any
	if err := json.Unmarshal(cfg.JSON(), &stored); err != nil {
		t.Fatal(err)
	}
	for _, k := range runtimeKeys {
		if _, ok := stored[k]; ok {
			t.Errorf("stored training config has the runtime key %s: %s", k, cfg.JSON())
		}
	}
	n := runtime.GOMAXPROCS(0)
	for _, c := range []struct {
		in      Runtime
		batch   int
		workers int
		threads int
	}{
		{Runtime{}, 64, n, 1},
		{Runtime{}, 1, 1, n},
		{Runtime{Workers: 1}, 64, 1, n},
		{Runtime{Workers: 8}, 3, 3, max(1, n/3)},
		{Runtime{Workers: 2, BLASThreads: 4}, 64, 2, 4},
	} {
		got, err := c.in.resolve(c.batch)
		if err != nil || got.Workers != c.workers || got.BLASThreads != c.threads {
			t.Errorf("%+v with batch %d: %+v, %v; want %d workers, %d BLAS threads", c.in, c.batch, got, err, c.workers, c.threads)
		}
	}
	for _, bad := range [][]string{{"workers=two"}, {"blas_threads=-1"}, {"workers=-2"}} {
		o := &Options{Out: t.TempDir(), Set: bad}
		if _, _, _, err := o.resolve(Defaults(), nil); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %v, want one line", bad, err)
		}
	}
	if _, err := Resolve(Defaults(), "", []string{"wrokers=2"}); err == nil || !strings.Contains(err.Error(), "runtime keys: workers, blas_threads") {
		t.Errorf("unknown key: %v, want the runtime keys listed", err)
	}
}

// TestReferencePresetIsMinimal: configs/reference.json sets only keys whose
// value differs from Defaults(), and resolves to DESIGN.md §10's config
// (Defaults with the MLP width written out: 4·256).
func TestReferencePresetIsMinimal(t *testing.T) {
	b, err := configs.FS.ReadFile("reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var def map[string]json.RawMessage
	if err := json.Unmarshal(Defaults().JSON(), &def); err != nil {
		t.Fatal(err)
	}
	for k, v := range m {
		var a, d any
		json.Unmarshal(v, &a)
		json.Unmarshal(def[k], &d)
		if reflect.DeepEqual(a, d) {
			t.Errorf("reference.json sets %s = %s, which is already the default", k, v)
		}
	}
	got, err := Resolve(Defaults(), "reference", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	want.IntermediateSize = 1024
	if got != want {
		t.Errorf("reference preset = %+v, want %+v", got, want)
	}
	// The same config as the full preset file this one replaced.
	full := filepath.Join(t.TempDir(), "full.json")
	os.WriteFile(full, []byte(`{"hidden_size": 256, "num_layers": 4, "num_heads": 4, "intermediate_size": 1024,
		"rotary_pct": 0.25, "parallel_residual": true, "vocab_size": 4096, "block_size": 256, "batch": 32,
		"lr": 1e-3, "min_lr": 1e-4, "betas": [0.9, 0.95], "weight_decay": 0.1, "warmup": 100, "decay": "cosine",
		"grad_clip": 1.0, "max_steps": 1000, "eval_interval": 200, "eval_tokens": 65536,
		"checkpoint_interval": 250, "log_interval": 10}`), 0o644)
	if old, err := Resolve(Defaults(), full, nil); err != nil || old != got {
		t.Errorf("the old full reference preset resolves to %+v (%v), the minimal one to %+v", old, err, got)
	}
}
