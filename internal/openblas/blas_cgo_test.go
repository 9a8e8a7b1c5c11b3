//go:build cgo && !purego

package openblas

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestLoadedCore: the linked OpenBLAS reports a core this package knows, and
// the CPU's kernels are at least what the CPU allows once Ensure has run
// (TestMain ran it for this test binary).
func TestLoadedCore(t *testing.T) {
	core := Core()
	if CoreLevel(core) == LevelUnknown {
		t.Fatalf("OpenBLAS core %q not in the table (config %s)", core, Config())
	}
	if os.Getenv(Env) == "" {
		if _, best := Detect().Best(); CoreLevel(core) < best {
			t.Errorf("core %s (%v) below the CPU's %v after Ensure", core, CoreLevel(core), best)
		}
	}
	if !strings.Contains(Config(), "OpenBLAS") {
		t.Errorf("config %q", Config())
	}
}

// TestUserChoiceKept re-runs this test binary with OPENBLAS_CORETYPE=Prescott:
// the library loads Prescott kernels and Ensure leaves them.
func TestUserChoiceKept(t *testing.T) {
	if os.Getenv("OPENBLAS_TEST_CHILD") != "" {
		if Core() != "Prescott" {
			t.Fatalf("child: core %s, want the user's Prescott", Core())
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestUserChoiceKept$")
	cmd.Env = append(os.Environ(), "OPENBLAS_TEST_CHILD=1", Env+"=Prescott")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func TestMain(m *testing.M) {
	if err := Ensure(os.Stderr); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	os.Exit(m.Run())
}
