package infer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sinktrain/sinktrain/internal/kernels"
	"github.com/sinktrain/sinktrain/model"
	"github.com/sinktrain/sinktrain/sinktoken"
)

const x = -1 // in grids: the token is not in the cache

// cacheGrid returns, for each step t < steps, a row over stream tokens
// 0..steps-1 holding the cache position of each token the query at t sees
// (x if it is not seen), after appending token t.
func cacheGrid(c *Cache, steps int, evictAt map[int]int) [][]int {
	var grid [][]int
	var keys []KeyPos
	for t := range steps {
		if n, ok := evictAt[t]; ok {
			c.Evict(n)
		}
		c.reserve(1)
		c.seen++ // the slots are what is tested here, not the values
		row := make([]int, steps)
		for i := range row {
			row[i] = x
		}
		keys = c.Keys(keys[:0], t)
		for _, k := range keys {
			row[k.Token] = k.Pos
		}
		grid = append(grid, row)
	}
	return grid
}

func checkGrid(t *testing.T, got, want [][]int) {
	t.Helper()
	for i := range want {
		if fmt.Sprint(got[i]) != fmt.Sprint(want[i]) {
			t.Errorf("step %d: cache positions by stream token\n got %v\nwant %v", i, got[i], want[i])
		}
	}
}

// TestCacheSinkWindowGrid: a 2+3 cache over 9 steps. Row t: the cache
// position of each stream token the query at step t sees. The current
// token is included, so each step sees K+W = 5 keys once full, and
// positions are re-assigned inside the cache (0..4).
func TestCacheSinkWindowGrid(t *testing.T) {
	c := NewCache(CacheSpec{Kind: SinkWindow, Sinks: 2, Window: 3}, 1, 1, 2, 0)
	want := [][]int{
		// stream token:
		// 0  1  2  3  4  5  6  7  8
		{0, x, x, x, x, x, x, x, x}, // step 0
		{0, 1, x, x, x, x, x, x, x}, // step 1
		{0, 1, 2, x, x, x, x, x, x}, // step 2
		{0, 1, 2, 3, x, x, x, x, x}, // step 3
		{0, 1, 2, 3, 4, x, x, x, x}, // step 4: full
		{0, 1, x, 2, 3, 4, x, x, x}, // step 5: token 2 evicted
		{0, 1, x, x, 2, 3, 4, x, x}, // step 6
		{0, 1, x, x, x, 2, 3, 4, x}, // step 7
		{0, 1, x, x, x, x, 2, 3, 4}, // step 8
	}
	checkGrid(t, cacheGrid(c, 9, nil), want)
	// The query's own cache position is the last one.
	if p := c.queryPos(8); p != 4 {
		t.Errorf("query position at step 8 = %d, want 4", p)
	}
}

// TestCacheDesignExample is DESIGN.md §1's example: a cache holding stream
// tokens [0 1 2 3 6 7 8] decoding token 9 uses positions 0..7 (4+4).
func TestCacheDesignExample(t *testing.T) {
	c := NewCache(CacheSpec{Kind: SinkWindow, Sinks: 4, Window: 4}, 1, 1, 2, 0)
	g := cacheGrid(c, 10, nil)
	checkGrid(t, g[9:], [][]int{{0, 1, 2, 3, x, x, 4, 5, 6, 7}})
}

// TestCacheWindowAndEvict: 0+3 is window attention; Evict(2) before step 5
// drops the oldest window tokens so two more fit without eviction.
func TestCacheWindowAndEvict(t *testing.T) {
	c := NewCache(CacheSpec{Kind: SinkWindow, Sinks: 0, Window: 3}, 1, 1, 2, 0)
	checkGrid(t, cacheGrid(c, 6, nil), [][]int{
		{0, x, x, x, x, x},
		{0, 1, x, x, x, x},
		{0, 1, 2, x, x, x},
		{x, 0, 1, 2, x, x},
		{x, x, 0, 1, 2, x},
		{x, x, x, 0, 1, 2},
	})
	c = NewCache(CacheSpec{Kind: SinkWindow, Sinks: 1, Window: 4}, 1, 1, 2, 0)
	checkGrid(t, cacheGrid(c, 8, map[int]int{5: 2}), [][]int{
		{0, x, x, x, x, x, x, x},
		{0, 1, x, x, x, x, x, x},
		{0, 1, 2, x, x, x, x, x},
		{0, 1, 2, 3, x, x, x, x},
		{0, 1, 2, 3, 4, x, x, x},
		{0, x, x, 1, 2, 3, x, x}, // evicted for 2: tokens 1, 2 gone before step 5
		{0, x, x, 1, 2, 3, 4, x}, // fits without evicting
		{0, x, x, x, 1, 2, 3, 4}, // ring eviction resumes
	})
}

// TestCacheSegmentsFollowSlots checks that the slot ranges attended equal
// the slots of the keys listed by Keys, in the same order.
func TestCacheSegmentsFollowSlots(t *testing.T) {
	for _, spec := range []CacheSpec{{Kind: SinkWindow, Sinks: 2, Window: 5}, {Kind: SinkWindow, Window: 4}, {Kind: Dense}} {
		c := NewCache(spec, 1, 1, 2, 0)
		for step := range 23 {
			if step == 11 {
				c.Evict(3)
			}
			c.reserve(1)
			c.seen++
			var seg [3][2]int
			var slots []int
			for g := range c.segments(&seg, step) {
				for s := seg[g][0]; s < seg[g][1]; s++ {
					slots = append(slots, s)
				}
			}
			var want []int
			for _, k := range c.Keys(nil, step) {
				want = append(want, c.slot(k.Token))
			}
			if fmt.Sprint(slots) != fmt.Sprint(want) {
				t.Fatalf("%s step %d: segments give slots %v, Keys give %v", spec, step, slots, want)
			}
		}
	}
}

// TestRotationMatchesCachePositions: the cache stores keys rotated by their
// stream position and rotates the query twice; the scores must equal the
// literal StreamingLLM computation, where un-rotated keys are rotated with
// their cache position and the query with its own, at every step.
func TestRotationMatchesCachePositions(t *testing.T) {
	cfg := tinyConfig(sinktoken.Softmax)
	cfg.NumLayers, cfg.RotaryPct = 1, 1
	m := randomModel(t, cfg, 1)
	hd := cfg.HeadDim()
	spec := CacheSpec{Kind: SinkWindow, Sinks: 3, Window: 5}
	s := m.NewSession(spec, 0)
	rng := rand.New(rand.NewPCG(1, 2))
	var raw [][]float32 // un-rotated keys of head 0 by stream position
	for step := range 40 {
		// Random qkv for one row; only head 0 is checked.
		for i := range s.a.qkv[:3*cfg.HiddenSize] {
			s.a.qkv[i] = float32(rng.NormFloat64())
		}
		raw = append(raw, append([]float32(nil), s.a.qkv[hd:2*hd]...))
		q := append([]float32(nil), s.a.qkv[:hd]...)
		var got []float32
		s.OnAttention = func(l, h, tt int, probs []float32) {
			if h == 0 {
				got = append([]float32(nil), probs...)
			}
		}
		s.rowRopes(1)
		s.attention(0, 1)
		s.cache.seen++
		// Literal: rotate each visible key by its cache position, the
		// query by its own cache position (the last one).
		keys := s.cache.Keys(nil, step)
		qp := keys[len(keys)-1].Pos
		qr := append([]float32(nil), q...)
		cos, sin := make([]float64, len(m.invFreq)), make([]float64, len(m.invFreq))
		ropeAt(m.invFreq, qp, cos, sin)
		rotate(qr, cos, sin)
		want := make([]float32, len(keys))
		for i, k := range keys {
			kr := append([]float32(nil), raw[k.Token]...)
			ropeAt(m.invFreq, k.Pos, cos, sin)
			rotate(kr, cos, sin)
			var dot float64
			for j := range kr {
				dot += float64(kr[j]) * float64(qr[j])
			}
			want[i] = float32(dot) * m.scale
		}
		kernels.SoftmaxRow(want, 0, false)
		for i := range want {
			if math.Abs(float64(got[i]-want[i])) > 1e-5 {
				t.Fatalf("step %d key %d (token %d, pos %d): prob %g, literal %g", step, i, keys[i].Token, keys[i].Pos, got[i], want[i])
			}
		}
	}
}

// tinyConfig is a small random-model config for tests.
func tinyConfig(att sinktoken.Attention) model.Config {
	return model.Config{
		VocabSize: 37, HiddenSize: 24, NumLayers: 2, NumHeads: 3, IntermediateSize: 40,
		RotaryPct: 0.5, RotaryBase: 10000, MaxPositionEmbeddings: 2048, LayerNormEps: 1e-5,
		ParallelResidual: true, HiddenAct: "gelu", Attention: att,
	}
}
