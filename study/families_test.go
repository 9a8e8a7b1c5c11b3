package study

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/sinktoken"
)

// TestCompareLlamaBesideGPTNeoX: compare runs a Llama-family model (GQA,
// tied head, 2 sinks) next to a GPT-NeoX one and gives for each the numbers
// eval stream gives, with the same files.
func TestCompareLlamaBesideGPTNeoX(t *testing.T) {
	models := []NamedModel{
		{Name: "neox", Path: cmpWriteTinyModel(t, "neox", cmpTinyConfig(2, sinktoken.Softmax), 1)},
		{Name: "llama", Path: cmpWriteTinyModel(t, "llama", cmpTinyLlama(2), 2)},
	}
	ids := cmpWriteIDs(t, 120)
	caches := []string{"0+16", "2+14", "dense", "recompute:16"}
	out := filepath.Join(t.TempDir(), "cmp")
	if err := Compare(context.Background(), &CompareOptions{Models: models, Source: Source{IDs: ids}, Caches: caches, Out: out, Stdout: &bytes.Buffer{}}); err != nil {
		t.Fatal(err)
	}
	var res CompareResults
	if err := cmpReadJSON(filepath.Join(out, CompareJSON), &res); err != nil {
		t.Fatal(err)
	}
	for _, m := range models {
		want := cmpEvalStreamJSON(t, EvalOptions{Model: m.Path, Source: Source{IDs: ids}, Caches: caches})
		for _, c := range caches {
			got := res.Result(m.Name, c)
			if got == nil {
				t.Fatalf("no result for %s %s", m.Name, c)
			}
			if w := want[c]; got.Tokens != w.Tokens || got.NLL != w.NLL || len(got.Rolling) == 0 {
				t.Errorf("%s %s: compare (tokens %d, nll %v) != eval stream (tokens %d, nll %v)", m.Name, c, got.Tokens, got.NLL, w.Tokens, w.NLL)
			}
		}
	}
	for _, f := range []string{CompareMD, CompareCSV, ComparePlot} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestInspectLlama: inspect attention on a Llama-family model reports every
// query head (4, over 2 key/value heads), rows summing to 1, the sink
// statistics and the plots, as for GPT-NeoX.
func TestInspectLlama(t *testing.T) {
	dir := cmpWriteTinyModel(t, "llama", cmpTinyLlama(2), 5)
	out := filepath.Join(t.TempDir(), "insp")
	var stdout bytes.Buffer
	if err := InspectAttention(context.Background(), &InspectOptions{Model: dir, IDs: cmpWriteIDs(t, 100), Tokens: 80, Out: out, Stdout: &stdout}); err != nil {
		t.Fatal(err)
	}
	var rep AttentionReport
	if err := cmpReadJSON(filepath.Join(out, InspectJSON), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Tokens != 80 || rep.Layers != 2 || rep.Heads != 4 || len(rep.Alpha[1][3]) != SinkPositions || len(rep.SinkIDs) != 2 {
		t.Errorf("attention.json: tokens %d layers %d heads %d sinks %v", rep.Tokens, rep.Layers, rep.Heads, rep.SinkIDs)
	}
	if math.Abs(rep.RowSumMin-1) > 1e-5 || math.Abs(rep.RowSumMax-1) > 1e-5 {
		t.Errorf("row sums in [%v, %v], want 1", rep.RowSumMin, rep.RowSumMax)
	}
	for l := range rep.Layers {
		hw, hh := plotHeatSize()
		plotCheckPNG(t, filepath.Join(out, InspectHeatmapFile(l)), hw, hh)
	}
	plotCheckPNG(t, filepath.Join(out, InspectAlpha), plotBarsWidth, plotBarsHeight)
	if !strings.Contains(stdout.String(), "Sink_k^0.3") {
		t.Errorf("summary lacks Sink_k^ε:\n%s", stdout.String())
	}
}
