package study

import (
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCurves reads both writers' metrics.jsonl styles (Go's compact JSON,
// Python's spaced JSON with val_loss on some lines), plots them, and refuses
// a broken file with one line naming it.
func TestCurves(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		d := filepath.Join(dir, name)
		os.MkdirAll(d, 0o755)
		if err := os.WriteFile(filepath.Join(d, "metrics.jsonl"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return d
	}
	cpu := write("cpu", `{"step":10,"tokens":81920,"loss":7.87,"lr":0.0001}`+"\n"+`{"step":20,"tokens":163840,"loss":7.5,"val_loss":7.6}`+"\n")
	gpu := write("gpu", `{"step": 10, "tokens": 81920, "loss": 7.88}`+"\n\n"+`{"step": 20, "tokens": 163840, "loss": 7.49}`+"\n")
	c, err := ReadCurve(cpu)
	if err != nil || len(c) != 2 || c[1].Tokens != 163840 || c[1].ValLoss != 7.6 || !math.IsNaN(c[0].ValLoss) {
		t.Fatalf("ReadCurve: %+v %v", c, err)
	}
	out := filepath.Join(dir, "curves.png")
	if err := PlotCurves(&CurvesOptions{Runs: []NamedModel{{Name: "cpu", Path: cpu}, {Name: "gpu", Path: gpu}}, Out: out}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if img, err := png.Decode(f); err != nil || img.Bounds().Dx() != plotPixels(720) {
		t.Fatalf("curves.png: %v", err)
	}
	bad := write("bad", "{\"step\":1}\n")
	err = PlotCurves(&CurvesOptions{Runs: []NamedModel{{Name: "bad", Path: bad}}, Out: filepath.Join(dir, "x.png")})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(bad, "metrics.jsonl")) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("broken metrics: err %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.png")); !os.IsNotExist(err) {
		t.Fatal("a failed plot left its file")
	}
}
