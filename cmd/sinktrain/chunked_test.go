package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"testing"

	"github.com/sinktrain/sinktrain/infer"
	"github.com/sinktrain/sinktrain/study"
	"github.com/sinktrain/sinktrain/train"
)

// TestChunkedEqualsStepsTrained trains a vanilla and a 1-sink model of the
// tiny preset for a few steps (here, in the test) and checks that chunked
// scoring of 700 tokens of their validation text (sinks prepended) equals
// token-by-token scoring within 1e-5 relative under dense, 0+64, 1+63,
// 4+60 and recompute:64, at chunk sizes 1, 7, 64 and 512 (boundaries
// before, at and after the cache fills).
func TestChunkedEqualsStepsTrained(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two tiny models")
	}
	for _, sinks := range []int{0, 1} {
		t.Run(fmt.Sprintf("sinks=%d", sinks), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "run")
			o := train.Options{Config: "tiny", Out: out, Log: io.Discard,
				Set: []string{"max_steps=30", fmt.Sprintf("sinks=%d", sinks), "eval_interval=0"}}
			if err := train.Pretrain(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			m, err := infer.LoadModel(out)
			if err != nil {
				t.Fatal(err)
			}
			s, done, err := study.Source{Data: filepath.Join(out, "data"), MaxTokens: 700}.Open(out, m)
			if err != nil {
				t.Fatal(err)
			}
			defer done()
			worst := 0.0
			for _, spec := range []string{"dense", "0+64", "1+63", "4+60", "recompute:64"} {
				cs, err := infer.ParseCacheSpec(spec)
				if err != nil {
					t.Fatal(err)
				}
				want := scoreAll(t, m, cs, s, infer.ScoreOptions{Chunk: 1, ExactSteps: true})
				for _, c := range []int{1, 7, 64, 512} {
					got := scoreAll(t, m, cs, s, infer.ScoreOptions{Chunk: c})
					if len(got) != len(want) {
						t.Fatalf("%s chunk %d: %d targets, want %d", spec, c, len(got), len(want))
					}
					for i, w := range want {
						d := math.Abs(got[i]-w) / max(1, math.Abs(w))
						worst = max(worst, d)
						if d > 1e-5 {
							t.Fatalf("%s chunk %d: target %d NLL %.7f, token by token %.7f", spec, c, i, got[i], w)
						}
					}
				}
			}
			t.Logf("worst relative difference %.2g", worst)
		})
	}
}

// scoreAll returns every scored target's NLL by its index.
func scoreAll(t *testing.T, m *infer.Model, spec infer.CacheSpec, s infer.Stream, o infer.ScoreOptions) map[int]float64 {
	t.Helper()
	out := map[int]float64{}
	o.OnNLL = func(i int, _ int32, nll float64) error { out[i] = nll; return nil }
	if _, err := infer.Score(context.Background(), m, spec, s, o); err != nil {
		t.Fatal(err)
	}
	return out
}
