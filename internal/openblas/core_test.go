package openblas

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

var (
	xeonSPR = Features{Brand: "Intel Xeon Platinum 8480+", AVX: true, AVX2: true, FMA: true, AVX512: true, AVX512BF16: true}
	skx     = Features{AVX: true, AVX2: true, FMA: true, AVX512: true}
	zen3    = Features{AMD: true, AVX: true, AVX2: true, FMA: true}
	hsw     = Features{AVX: true, AVX2: true, FMA: true}
	snb     = Features{AVX: true}
	old     = Features{}
)

func TestBest(t *testing.T) {
	for _, c := range []struct {
		f     Features
		core  string
		level Level
	}{{xeonSPR, "COOPERLAKE", LevelAVX512}, {skx, "SKYLAKEX", LevelAVX512}, {zen3, "ZEN", LevelAVX2},
		{hsw, "HASWELL", LevelAVX2}, {snb, "SANDYBRIDGE", LevelAVX}, {old, "", LevelGeneric}} {
		core, level := c.f.Best()
		if core != c.core || level != c.level {
			t.Errorf("%+v: Best() = %s %v, want %s %v", c.f, core, level, c.core, c.level)
		}
		if CoreLevel(core) != level && core != "" {
			t.Errorf("CoreLevel(%s) = %v, want %v", core, CoreLevel(core), level)
		}
	}
}

func TestDecide(t *testing.T) {
	for _, c := range []struct {
		name             string
		loaded           string
		f                Features
		user, previous   string
		reexec           bool
		core, noteSubstr string
	}{
		{"prescott on a Sapphire Rapids Xeon", "Prescott", xeonSPR, "", "", true, "COOPERLAKE", ""},
		{"core2 on Skylake-X", "Core2", skx, "", "", true, "SKYLAKEX", ""},
		{"nehalem on Zen", "Nehalem", zen3, "", "", true, "ZEN", ""},
		{"sandybridge on Haswell", "Sandybridge", hsw, "", "", true, "HASWELL", ""},
		{"right already", "Cooperlake", xeonSPR, "", "", false, "", ""},
		{"zen kernels on Zen", "Zen", zen3, "", "", false, "", ""},
		{"AVX2 kernels on an AVX-512 CPU", "Haswell", skx, "", "", true, "SKYLAKEX", ""},
		{"user's Prescott respected", "Prescott", xeonSPR, "Prescott", "", false, "", ""},
		{"user's value respected even if bogus", "Prescott", xeonSPR, "bogus", "", false, "", ""},
		{"pre-AVX CPU: nothing better", "Prescott", old, "", "", false, "", ""},
		{"unknown core name", "Loongson3R4", xeonSPR, "", "", false, "", `unknown core "Loongson3R4"`},
		{"after the re-exec: says what was chosen", "Cooperlake", xeonSPR, "COOPERLAKE", "Prescott", false, "", "picked Prescott kernels on a CPU with AVX-512; running with OPENBLAS_CORETYPE=COOPERLAKE (now Cooperlake)"},
		{"after the re-exec: library lacks the kernels", "Prescott", xeonSPR, "COOPERLAKE", "Prescott", false, "", "kept its Prescott kernels"},
	} {
		d := Decide(c.loaded, c.f, c.user, c.previous)
		if d.Reexec != c.reexec || d.Core != c.core || !strings.Contains(d.Note, c.noteSubstr) || (c.noteSubstr == "" && d.Note != "") {
			t.Errorf("%s: %+v, want reexec %v core %q note ⊇ %q", c.name, d, c.reexec, c.core, c.noteSubstr)
		}
	}
}

// TestEnsureReexecs runs ensure with a fake environment: a first process on
// Prescott kernels re-executes itself with the variable set and the guard
// holding what it saw; the second process logs one line and goes on.
func TestEnsureReexecs(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	unset := func(k string) error { delete(env, k); return nil }
	var gotEnv []string
	exec := func(exe string, args, e []string) error { gotEnv = e; return errors.New("exec stopped by the test") }
	var log bytes.Buffer
	err := ensure(&log, "Prescott", xeonSPR, getenv, unset, exec)
	if err == nil || !strings.Contains(err.Error(), "OPENBLAS_CORETYPE=COOPERLAKE") {
		t.Fatalf("ensure: %v, want the failed exec's error naming the variable", err)
	}
	if !slices.Contains(gotEnv, "OPENBLAS_CORETYPE=COOPERLAKE") || !slices.Contains(gotEnv, reexecEnv+"=Prescott") {
		t.Fatalf("exec env lacks the variable or the guard: %v", gotEnv[len(gotEnv)-2:])
	}
	env[Env], env[reexecEnv] = "COOPERLAKE", "Prescott"
	log.Reset()
	if err := ensure(&log, "Cooperlake", xeonSPR, getenv, unset, exec); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(log.String(), "\n"); n != 1 || !strings.Contains(log.String(), "now Cooperlake") {
		t.Fatalf("log %q, want one line saying what was chosen", log.String())
	}
	if _, ok := env[reexecEnv]; ok {
		t.Fatal("guard left in the environment for children")
	}
}
