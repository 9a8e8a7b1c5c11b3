package study

import (
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"gonum.org/v1/plot/vg"
)

// plotCheckPNG decodes path and checks its size in pixels.
func plotCheckPNG(t *testing.T, path string, w, h vg.Length) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b := img.Bounds()
	if b.Dx() != plotPixels(w) || b.Dy() != plotPixels(h) {
		t.Errorf("%s is %d×%d, want %d×%d", filepath.Base(path), b.Dx(), b.Dy(), plotPixels(w), plotPixels(h))
	}
}

func TestPlots(t *testing.T) {
	dir := t.TempDir()
	lines := filepath.Join(dir, "lines.png")
	series := []plotSeries{{Group: "a", Variant: "0+64", X: []float64{1, 2, 3}, Y: []float64{10, 20, 15}}, {Group: "b", Variant: "dense", X: []float64{1, 3}, Y: []float64{5, 7}}}
	if err := plotLines(lines, "t", "x", "y", series, true); err != nil {
		t.Fatal(err)
	}
	w, h := plotLinesSize(2)
	plotCheckPNG(t, lines, w, h)
	if plotPixels(w) != 806 || plotPixels(h) != 619 {
		t.Errorf("line figure of 2 panels is %d×%d pixels, want 806×619", plotPixels(w), plotPixels(h))
	}
	if w, h := plotLinesSize(6); plotPixels(w) != 1430 || plotPixels(h) != 907 {
		t.Errorf("line figure of 6 panels is %d×%d pixels, want 1430×907 (2 columns)", plotPixels(w), plotPixels(h))
	}

	heat := filepath.Join(dir, "heat.png")
	m := [][]float64{{1, 0, 0}, {0.5, 0.5, 0}, {0.2, 0.3, 0.5}}
	if err := plotHeatmap(heat, "t", m, [2]string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	w, h = plotHeatSize()
	plotCheckPNG(t, heat, w, h)

	bars := filepath.Join(dir, "bars.png")
	if err := plotBars(bars, "t", "α_0", []string{"layer 0", "layer 1"}, []string{"head 0", "head 1"}, [][]float64{{0.1, 0.5}, {0.9, 0}}, 0.3, "ε = 0.3"); err != nil {
		t.Fatal(err)
	}
	plotCheckPNG(t, bars, plotBarsWidth, plotBarsHeight)
}
