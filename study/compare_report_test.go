package study

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReportGolden(t *testing.T) {
	r := cmpSampleResults()
	rep := &AttentionReport{Model: "runs/sinks1", Attention: "softmax", SinkIDs: []int{1}, SinkStats: SinkStats{
		Layers: 2, Heads: 2, Tokens: 256, Epsilon: 0.3, SinkRate: make([]float64, SinkPositions),
		AlphaLayer: [][]float64{make([]float64, SinkPositions), make([]float64, SinkPositions)},
	}}
	rep.SinkRate[0] = 0.5
	rep.AlphaLayer[0][0], rep.AlphaLayer[1][0] = 0.012, 0.41
	got := r.report(map[string]*AttentionReport{"sinks1": rep}, &ReportOptions{Command: "scripts/sink-study.sh 64000000", Notes: "Budget 64M tokens."}, "results")
	cmpGolden(t, "report.md.golden", got)
	for _, want := range []string{
		"vanilla (0 sinks, softmax)", "evicting the first tokens: does not hurt (within 1%): 0+64 50.10 vs 4+60 49.87 (+0.5%)",
		"sinks1 (1 sink, softmax)", "**hurts** (up to +5.8%): 0+64 54.35 vs 1+63 51.36 (+5.8%)",
		"Sink_0^0.3 = 0.500 (2 of 4 layer×head pairs", "α_0 by layer (mean over heads): L0 0.012, L1 0.410",
		"softmax1 (0 sinks, softmax1)", "**hurts** (up to ×1599.0): 0+64 29214.40 vs 4+60 18.27 (×1599.0)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestRenderResultsMissingInput(t *testing.T) {
	dir := t.TempDir()
	err := RenderResults(&ReportOptions{Compare: filepath.Join(dir, "nope"), Out: filepath.Join(dir, "r.md")})
	if err == nil || !strings.Contains(err.Error(), "results.json") {
		t.Errorf("error = %v, want one naming results.json", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "r.md")); err == nil {
		t.Error("a failed report wrote r.md")
	}
}
