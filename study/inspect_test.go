package study

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sinktrain/sinktrain/checkpoint"
	"github.com/sinktrain/sinktrain/infer"
	"github.com/sinktrain/sinktrain/sinktoken"
)

// TestAttentionRowSums checks that every attention row sums to 1 under
// softmax and to less than 1 under softmax1 and sink_logit (the rest is on
// the virtual sink), and that the statistics are consistent.
func TestAttentionRowSums(t *testing.T) {
	ids := make([]int32, 70)
	for i := range ids {
		ids[i] = int32(5 + (i*37)%500)
	}
	for _, att := range []sinktoken.Attention{sinktoken.Softmax, sinktoken.Softmax1, sinktoken.SinkLogit} {
		t.Run(string(att), func(t *testing.T) {
			dir := cmpWriteTinyModel(t, string(att), cmpTinyConfig(1, att), 4)
			ck, err := checkpoint.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			m, err := infer.NewModel(ck.Config, ck.Weights)
			if err != nil {
				t.Fatal(err)
			}
			s, err := AttentionStats(context.Background(), m, ids, 0.3)
			if err != nil {
				t.Fatal(err)
			}
			if att == sinktoken.Softmax {
				if math.Abs(s.RowSumMin-1) > 1e-5 || math.Abs(s.RowSumMax-1) > 1e-5 {
					t.Errorf("softmax row sums in [%v, %v], want 1", s.RowSumMin, s.RowSumMax)
				}
			} else if !(s.RowSumMax < 1 && s.RowSumMin > 0) {
				t.Errorf("%s row sums in [%v, %v], want in (0, 1)", att, s.RowSumMin, s.RowSumMax)
			}
			// α_0 over the first query alone is A[0,0], the row sum of query 0.
			for l := range s.Layers {
				var mean float64
				for h := range s.Heads {
					a := s.Alpha[l][h][0]
					if !(a > 0 && a <= 1+1e-6) {
						t.Errorf("α_0[%d][%d] = %v, want in (0, 1]", l, h, a)
					}
					mean += a / float64(s.Heads)
				}
				if math.Abs(mean-s.AlphaLayer[l][0]) > 1e-9 {
					t.Errorf("layer %d: mean α_0 %v != AlphaLayer %v", l, mean, s.AlphaLayer[l][0])
				}
				// The heat map's first column, averaged over queries, is α_0
				// restricted to the first 64 queries.
				var col float64
				for i := range s.Heatmap[l] {
					col += s.Heatmap[l][i][0]
				}
				if col <= 0 {
					t.Errorf("layer %d: heat map has no mass on key 0", l)
				}
			}
		})
	}
}

func TestInspectAttention(t *testing.T) {
	dir := cmpWriteTinyModel(t, "sinks2", cmpTinyConfig(2, sinktoken.Softmax), 5)
	ids := cmpWriteIDs(t, 100)
	out := filepath.Join(t.TempDir(), "insp")
	var stdout bytes.Buffer
	err := InspectAttention(context.Background(), &InspectOptions{Model: dir, IDs: ids, Tokens: 80, Out: out, Stdout: &stdout})
	if err != nil {
		t.Fatal(err)
	}
	var rep AttentionReport
	if err := cmpReadJSON(filepath.Join(out, InspectJSON), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Tokens != 80 || len(rep.IDs) != 80 || rep.Layers != 2 || rep.Heads != 2 || len(rep.Alpha[1][1]) != SinkPositions || rep.Epsilon != 0.3 {
		t.Errorf("attention.json: tokens %d ids %d layers %d heads %d eps %v", rep.Tokens, len(rep.IDs), rep.Layers, rep.Heads, rep.Epsilon)
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
	if err := InspectAttention(context.Background(), &InspectOptions{Model: dir, IDs: ids, Out: out, Epsilon: 2}); err == nil || !strings.Contains(err.Error(), "epsilon 2: expected a value in (0, 1)") {
		t.Errorf("epsilon 2: error %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, InspectJSON)); err != nil {
		t.Errorf("a failed rerun removed the earlier output: %v", err)
	}

	// A rerun into its own directory replaces its outputs and removes the
	// stale map of a deeper model; a file of the user's stays.
	os.WriteFile(filepath.Join(out, InspectHeatmapFile(3)), []byte("stale"), 0o644)
	os.WriteFile(filepath.Join(out, "notes.txt"), []byte("mine"), 0o644)
	if err := InspectAttention(context.Background(), &InspectOptions{Model: dir, IDs: ids, Tokens: 80, Out: out, Stdout: &bytes.Buffer{}}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, InspectHeatmapFile(3))); err == nil {
		t.Error("the stale attention_L3.png of an earlier run stayed")
	}
	if _, err := os.Stat(filepath.Join(out, "notes.txt")); err != nil {
		t.Errorf("the user's file was removed: %v", err)
	}
	// Another non-empty directory is refused, and left as it was.
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "attention_L0.png"), []byte("someone's"), 0o644)
	err = InspectAttention(context.Background(), &InspectOptions{Model: dir, IDs: ids, Out: other, Stdout: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), "is not empty and holds no inspect output (attention.json)") {
		t.Errorf("inspect into a foreign directory: %v", err)
	}
	if ents, _ := os.ReadDir(other); len(ents) != 1 {
		t.Errorf("the refused directory holds %d entries, want its 1", len(ents))
	}
}

// TestInspectText checks that --text prepends the model's sinks.
func TestInspectText(t *testing.T) {
	dir := cmpWriteTinyModel(t, "sinks2", cmpTinyConfig(2, sinktoken.SinkLogit), 6)
	out := filepath.Join(t.TempDir(), "insp")
	err := InspectAttention(context.Background(), &InspectOptions{Model: dir, Text: filepath.Join("testdata", "stream.txt"), Tokens: 40, Out: out, Stdout: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	var rep AttentionReport
	if err := cmpReadJSON(filepath.Join(out, InspectJSON), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.IDs) != 40 || rep.IDs[0] != 1 || rep.IDs[1] != 2 || rep.IDs[2] <= 4 {
		t.Errorf("ids start %v, want the sinks 1 2 then text", rep.IDs[:3])
	}
	if !(rep.RowSumMax < 1) {
		t.Errorf("sink_logit row sums reach %v, want < 1", rep.RowSumMax)
	}
}
