package infer

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/sinktrain/sinktrain/checkpoint"
	"github.com/sinktrain/sinktrain/internal/kernels"
	"github.com/sinktrain/sinktrain/model"
	"github.com/sinktrain/sinktrain/sinktoken"
)

// chunkSizes are the chunk sizes every exactness test runs: chunk
// boundaries before, at and after the cache fills, and one chunk holding
// the whole stream.
var chunkSizes = []int{1, 7, 64, 512}

// sameAsSteps checks that the chunked NLLs of s under each spec equal the
// token-by-token ones (ExactSteps) within 1e-5 relative, at every chunk
// size, and returns the worst relative difference.
func sameAsSteps(t *testing.T, m *Model, specs []CacheSpec, s Stream) float64 {
	t.Helper()
	worst := 0.0
	for _, spec := range specs {
		want := nllsWith(t, m, spec, s, ScoreOptions{Chunk: 1, ExactSteps: true})
		for _, c := range chunkSizes {
			got := nllsWith(t, m, spec, s, ScoreOptions{Chunk: c})
			sameNLL(t, fmt.Sprintf("%s chunk %d", spec, c), got, want, 1e-5)
			for i, w := range want {
				worst = max(worst, relDiff(got[i], w))
			}
		}
	}
	return worst
}

func relDiff(a, b float64) float64 { return abs(a-b) / max(1, abs(b)) }

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestChunkedEqualsStepsFixtures: every fixture model (every family,
// RoPE and ALiBi) under dense, 0+16, 1+15, 4+12 and recompute:16 — the
// specs of its float64 references — scores its stream chunked exactly as
// token by token, at chunk sizes 1, 7, 64 and 512.
func TestChunkedEqualsStepsFixtures(t *testing.T) {
	for _, name := range streamFixtures {
		t.Run(name, func(t *testing.T) {
			ck, err := checkpoint.Load(filepath.Join(fixtures, name))
			if err != nil {
				t.Fatal(err)
			}
			m, err := NewModel(ck.Config, ck.Weights)
			if err != nil {
				t.Fatal(err)
			}
			var specs []CacheSpec
			for _, sp := range streamSpecs {
				cs, err := ParseCacheSpec(sp)
				if err != nil {
					t.Fatal(err)
				}
				specs = append(specs, cs)
			}
			ids := refInts(t, fixtureRef(t, name), "stream.ids")
			t.Logf("worst relative difference %.2g", sameAsSteps(t, m, specs, Tokens(ids)))
		})
	}
}

// TestChunkedEqualsStepsVariants: the same for every variant config
// (layouts, norms, sliding windows, qk_ln, clip_qkv, softmax1 and
// sink_logit attention, BLOOM and MPT ALiBi) and for a model with one sink
// token, over a stream longer than the largest chunk.
func TestChunkedEqualsStepsVariants(t *testing.T) {
	specs := []CacheSpec{{Kind: Dense}, {Kind: SinkWindow, Window: 16}, {Kind: SinkWindow, Sinks: 1, Window: 15},
		{Kind: SinkWindow, Sinks: 4, Window: 12}, {Kind: Recompute, Window: 16}}
	for name := range variantConfigs {
		t.Run(name, func(t *testing.T) {
			m, _ := variantModel(t, name, 5)
			t.Logf("worst relative difference %.2g", sameAsSteps(t, m, specs, testStream(600, m.Config.VocabSize)))
		})
	}
	t.Run("one-sink", func(t *testing.T) {
		cfg := tinyConfig(sinktoken.SinkLogit)
		cfg.SinkTokens, cfg.SinkIDs = []string{sinktoken.TokenName(0)}, []int{3}
		m := randomModel(t, cfg, 6)
		s := append(Tokens{3}, testStream(599, cfg.VocabSize)...)
		t.Logf("worst relative difference %.2g", sameAsSteps(t, m, specs, s))
	})
}

// TestLogitBlocks: a vocabulary too wide for one block of logits (Pythia's
// 50,304 at 128 and 512 rows: 2 and 7 blocks, the last ones narrower) is
// scored block by block: the NLLs of float32 and bfloat16 weights equal
// the cross-entropy of the whole rows' logits, and a stream's chunked NLLs
// equal the token-by-token ones.
func TestLogitBlocks(t *testing.T) {
	for _, c := range []struct{ V, R, cols int }{{50304, 64, 50304}, {50304, 128, 32768}, {50304, 512, 8192}, {4096, 1024, 4096}, {1 << 20, 1 << 19, 16}} {
		if got := logitCols(c.V, c.R); got != c.cols {
			t.Errorf("logitCols(%d, %d) = %d, expected %d", c.V, c.R, got, c.cols)
		}
	}
	cfg := tinyConfig(sinktoken.Softmax)
	cfg.VocabSize = 50304
	w := model.Init(cfg, 9)
	f32, err := NewModel(cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	half, err := NewModelAs(cfg, w, checkpoint.BF16)
	if err != nil {
		t.Fatal(err)
	}
	D, V := cfg.HiddenSize, cfg.VocabSize
	worst := 0.0
	for name, m := range map[string]*Model{"float32": f32, "bfloat16": half} {
		for _, R := range []int{128, 512} {
			s := newScorer(m, CacheSpec{Kind: SinkWindow, Sinks: 4, Window: 60}, R, 1000, 2)
			if s.lcols >= V {
				t.Fatalf("%s R %d: one block of %d columns", name, R, s.lcols)
			}
			n := R - 3
			rng := rand.New(rand.NewPCG(uint64(R), 1))
			for i := range s.a.x[:n*D] {
				s.a.x[i] = float32(rng.NormFloat64())
			}
			s.out = s.out[:0]
			for k := range n { // targets in every block, the last column among them
				s.out = append(s.out, outRow{row: k, target: int32((k * 7919) % V)})
			}
			s.out[n-1].target = int32(V - 1)
			x := append([]float32(nil), s.a.x[:n*D]...)
			s.headNLL(n)
			whole := make([]float32, n*V)
			a := newActs(m, n)
			copy(a.x, x)
			s.engine.logits(&a, 0, n, whole)
			for k := range n {
				want := kernels.CrossEntropy(whole[k*V:(k+1)*V], int(s.out[k].target), nil, 0)
				// Each block's exponentials are float32 values relative to
				// its own maximum: up to ≈ 6e-8 apart from the whole row's.
				d := relDiff(s.nll[k], want)
				if d > 2e-7 {
					t.Fatalf("%s R %d row %d: nll %.12g, the whole row's %.12g", name, R, k, s.nll[k], want)
				}
				worst = max(worst, d)
			}
		}
	}
	t.Logf("blocks vs whole rows: worst relative difference %.2g", worst)
	s := testStream(700, V)
	spec := CacheSpec{Kind: SinkWindow, Sinks: 4, Window: 60}
	steps := nllsWith(t, f32, spec, s, ScoreOptions{Chunk: 1, ExactSteps: true})
	for _, c := range []int{128, 512} {
		sameNLL(t, fmt.Sprintf("chunk %d", c), nllsWith(t, f32, spec, s, ScoreOptions{Chunk: c}), steps, 1e-5)
	}
}

// roundedMatrices returns w with its matrices rounded to bfloat16.
func roundedMatrices(w model.Weights) model.Weights {
	rounded := model.Weights{}
	for n, tn := range w {
		d := append([]float32(nil), tn.Data...)
		if len(tn.Shape) == 2 {
			for i, v := range d {
				d[i] = bf16(v)
			}
		}
		rounded[n] = &model.Tensor{Shape: tn.Shape, Data: d}
	}
	return rounded
}

// TestBF16Storage: a model stored as bfloat16 scores the same chunked and
// token by token, its fingerprint differs from the float32 one's and from
// another bfloat16 model's, and float16 storage is refused.
func TestBF16Storage(t *testing.T) {
	cfg := tinyConfig(sinktoken.Softmax)
	w := model.Init(cfg, 7)
	ref, err := NewModel(cfg, roundedMatrices(w))
	if err != nil {
		t.Fatal(err)
	}
	half, err := NewModelAs(cfg, w, checkpoint.BF16)
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewModelAs(cfg, model.Init(cfg, 8), checkpoint.BF16)
	if err != nil {
		t.Fatal(err)
	}
	if half.DType() != checkpoint.BF16 || half.Fingerprint() == ref.Fingerprint() || half.Fingerprint() == other.Fingerprint() {
		t.Fatalf("dtype %s; fingerprint equals the float32 one: %v, another bfloat16 model's: %v", half.DType(),
			half.Fingerprint() == ref.Fingerprint(), half.Fingerprint() == other.Fingerprint())
	}
	s := testStream(300, cfg.VocabSize)
	for _, spec := range []CacheSpec{{Kind: SinkWindow, Sinks: 4, Window: 28}, {Kind: Recompute, Window: 16}} {
		steps := nllsWith(t, half, spec, s, ScoreOptions{Chunk: 1, ExactSteps: true})
		for _, c := range []int{1, 7, 64} {
			sameNLL(t, fmt.Sprintf("%s chunk %d", spec, c), nllsWith(t, half, spec, s, ScoreOptions{Chunk: c}), steps, 1e-5)
		}
	}
	if _, err := NewModelAs(cfg, w, checkpoint.F16); err == nil {
		t.Fatal("float16 storage accepted")
	}
}
