package infer

import (
	"context"
	"math"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/sinktrain/sinktrain/checkpoint"
	"github.com/sinktrain/sinktrain/internal/gemm"
	"github.com/sinktrain/sinktrain/internal/kernels"
	"github.com/sinktrain/sinktrain/model"
)

// countJob records which worker ran each index.
type countJob struct{ by []atomic.Int32 }

func (j *countJob) run(wk, lo, hi int) {
	for i := lo; i < hi; i++ {
		j.by[i].Add(int32(wk) + 1)
	}
}

// TestTeamSplit: every index runs exactly once, ranges start at multiples
// of align, the first range on the caller (worker 0), and the helpers keep
// working across many splits.
func TestTeamSplit(t *testing.T) {
	for _, c := range []struct{ size, n, align int }{{1, 10, 1}, {2, 1, 1}, {2, 10, 1}, {3, 100, 16}, {4, 3, 1}, {2, 17, 16}} {
		tm := newTeam(c.size)
		for i := range 200 {
			j := &countJob{by: make([]atomic.Int32, c.n)}
			tm.split(c.n, c.align, c.n*(i%2)*spinWork*4, j)
			var got []int32
			for i := range j.by {
				got = append(got, j.by[i].Load()-1)
			}
			per := (c.n + c.size - 1) / c.size
			per = (per + c.align - 1) / c.align * c.align
			want := make([]int32, c.n)
			for i := range want {
				want[i] = int32(min(i/per, c.size-1))
				if c.size == 1 || per >= c.n {
					want[i] = 0
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("size %d n %d align %d: workers by index %v, want %v", c.size, c.n, c.align, got, want)
			}
		}
		tm.stop()
	}
}

// TestStepAllocatesNothing: a decode step with a full K+W cache, split
// over two goroutines, allocates nothing (a stream of millions of tokens
// then leaves no garbage behind), for GPT-NeoX and Llama shapes.
func TestStepAllocatesNothing(t *testing.T) {
	llama := smolLMConfig()
	llama.NumLayers, llama.VocabSize = 2, 4096
	for name, cfg := range map[string]func() *Model{
		"gpt_neox": func() *Model { return randomModel(t, referenceConfig(), 1) },
		"llama":    func() *Model { return randomModel(t, llama, 1) },
	} {
		m := cfg()
		s := m.newSession(CacheSpec{Kind: SinkWindow, Sinks: 4, Window: 60}, 0, 2)
		toks := synthStream{n: 200, vocab: 4096}.Window(0, 200, nil)
		if _, err := s.Prefill(toks[:100]); err != nil {
			t.Fatal(err)
		}
		i := 0
		allocs := testing.AllocsPerRun(50, func() {
			if _, err := s.Step(toks[100+i%100]); err != nil {
				t.Fatal(err)
			}
			i++
		})
		if allocs != 0 {
			t.Errorf("%s: Step allocates %.1f times per token, want 0", name, allocs)
		}
	}
}

// TestScoreGarbageDoesNotGrow: chunked scoring allocates the same whatever
// the stream's length (buffers are sized by the chunk and the cache), so a
// stream of millions of tokens leaves no garbage per token for the
// collector to let the heap grow on.
func TestScoreGarbageDoesNotGrow(t *testing.T) {
	if gemm.Impl == "gonum" {
		t.Skip("pure-Go build: gonum's sgemm allocates on every call it parallelises, whatever the engine does")
	}
	m := randomModel(t, referenceConfig(), 1)
	spec := CacheSpec{Kind: SinkWindow, Sinks: 4, Window: 60}
	bytes := func(n int) float64 {
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		if _, err := Score(context.Background(), m, spec, synthStream{n: n, vocab: 4096}, ScoreOptions{Chunk: 64, Threads: 2}); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&ms1)
		return float64(ms1.TotalAlloc - ms0.TotalAlloc)
	}
	bytes(200) // warm-up
	// The least of three differences: a collection or a goroutine of the
	// runtime may allocate during one of them.
	extra, short, long := math.Inf(1), 0.0, 0.0
	for range 3 {
		short, long = bytes(500), bytes(4_500)
		extra = min(extra, long-short)
	}
	if perToken := extra / 4_000; perToken > 1 {
		t.Errorf("scoring 4,500 tokens allocates %.0f bytes more than 500 (%.1f bytes per token), want none per token (last: %.0f and %.0f bytes)", extra, perToken, short, long)
	}
}

// TestPoolStepsMatchOneThread: decoding steps of a model whose products go
// to the team's C pool (over 16 MiB of weights; float32 and bfloat16,
// grouped-query attention under a sink+window cache that wraps) give the
// logits of a one-goroutine session bit for bit: every output row is
// computed by the same kernel, attention by the same code. With 3 workers
// the parts are uneven.
func TestPoolStepsMatchOneThread(t *testing.T) {
	cfg := model.NewLlama(8192, 512, 2, 8, 2, 1024, true)
	cfg.LayerNormEps = 1e-5
	w := model.Init(cfg, 3)
	toks := synthStream{n: 80, vocab: cfg.VocabSize}.Window(0, 80, nil)
	for _, dt := range []checkpoint.DType{checkpoint.F32, checkpoint.BF16} {
		m, err := NewModelAs(cfg, w, dt)
		if err != nil {
			t.Fatal(err)
		}
		if m.matBytes <= cachedModel {
			t.Fatalf("%s: %d bytes of matrices: the decode products would not be split", dt, m.matBytes)
		}
		spec := CacheSpec{Kind: SinkWindow, Sinks: 2, Window: 30}
		one := m.newSession(spec, 0, 1)
		for _, workers := range []int{2, 3} {
			s := m.newSession(spec, 0, workers)
			if kernels.Impl == "c" && s.team.gemvPool() == nil {
				t.Fatalf("%s: %d workers and no pool", dt, workers)
			}
			one.Reset()
			for i, tok := range toks {
				want, err := one.Step(tok)
				if err != nil {
					t.Fatal(err)
				}
				want = slices.Clone(want)
				got, err := s.Step(tok)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("%s, %d workers, step %d: logits differ from one goroutine's", dt, workers, i)
				}
			}
		}
	}
}
