package infer

import (
	"fmt"
	"math"
	"testing"

	"github.com/sinktrain/sinktrain/model"
)

// distanceGrid feeds steps tokens through layer 0's attention of a
// one-layer model with every query and key equal to e_0 (values random),
// and returns, for each step, a row over stream tokens of the distance
// inside the cache that head 0's attention row implies for each key it
// sees (x where it sees none, or gives it no weight). dist maps a key's
// log-probability relative to the query's own key to a distance.
func distanceGrid(t *testing.T, m *Model, spec CacheSpec, steps int, dist func(rel float64) float64) [][]int {
	t.Helper()
	s := m.NewSession(spec, 0)
	var grid [][]int
	for step := range steps {
		clear(s.a.qkv[:m.qkvRows])
		for h := range m.H {
			s.a.qkv[m.qOff[h]] = 1
		}
		for g := range m.KV {
			s.a.qkv[m.kOff[g]] = 1
			s.a.qkv[m.vOff[g]+1] = float32(step)
		}
		var probs []float32
		s.OnAttention = func(l, h, tt int, p []float32) {
			if h == 0 {
				probs = append(probs[:0], p...)
			}
		}
		if m.f.Positions == model.RoPE {
			s.rowRopes(1)
		}
		s.attention(0, 1)
		s.cache.seen++
		keys := s.cache.Keys(nil, step)
		row := make([]int, steps)
		for i := range row {
			row[i] = x
		}
		last := math.Log(float64(probs[len(probs)-1]))
		for i, k := range keys {
			if probs[i] > 0 {
				row[k.Token] = int(math.Round(dist(math.Log(float64(probs[i])) - last)))
			}
		}
		grid = append(grid, row)
	}
	return grid
}

// The 4+3 cache of these grids holds stream tokens [0 1 2 3 6 7 8] at step
// 8: distances inside the cache are those of positions 0..6, 6..0.
var cacheDistances43 = [][]int{
	// stream token:
	// 0  1  2  3  4  5  6  7  8  9
	{0, x, x, x, x, x, x, x, x, x}, // step 0
	{1, 0, x, x, x, x, x, x, x, x},
	{2, 1, 0, x, x, x, x, x, x, x},
	{3, 2, 1, 0, x, x, x, x, x, x},
	{4, 3, 2, 1, 0, x, x, x, x, x},
	{5, 4, 3, 2, 1, 0, x, x, x, x},
	{6, 5, 4, 3, 2, 1, 0, x, x, x}, // step 6: full (K+W = 7 keys)
	{6, 5, 4, 3, x, 2, 1, 0, x, x}, // token 4 evicted
	{6, 5, 4, 3, x, x, 2, 1, 0, x}, // [0 1 2 3 6 7 8] → positions 0..6
	{6, 5, 4, 3, x, x, x, 2, 1, 0},
}

// TestALiBiDistancesInCache: MPT's and Falcon's ALiBi biases come from
// distances inside the cache, not in the stream.
func TestALiBiDistancesInCache(t *testing.T) {
	spec := CacheSpec{Kind: SinkWindow, Sinks: 4, Window: 3}
	for _, name := range []string{"mpt", "falcon-alibi"} {
		m, _ := variantModel(t, name, 1)
		m.layers = m.layers[:1]
		slope, scale := float64(m.slopes[0]), 1.0
		if m.f.Positions == model.ALiBiBloom {
			scale = float64(m.scale)
		}
		// rel = log p_i − log p_q = −slope·scale·d (q·k is the same for every key).
		got := distanceGrid(t, m, spec, 10, func(rel float64) float64 { return -rel / (slope * scale) })
		t.Run(name, func(t *testing.T) { checkGrid(t, got, cacheDistances43) })
	}
}

// TestRoPEDistancesInCache: with q = k = e_0 the rotated score is
// scale·cos(θ·d) for the cache distance d (θ = inv_freq[0] = 1/2 with
// linear scaling 2, so θ·d < π).
func TestRoPEDistancesInCache(t *testing.T) {
	m, _ := variantModel(t, "llama-bias-headdim", 1) // linear factor 2
	m.layers = m.layers[:1]
	theta, scale := m.invFreq[0], float64(m.scale)
	if theta*6 >= math.Pi {
		t.Fatalf("inv_freq[0] %v too large for the grid", theta)
	}
	// rel = scale·(cos θd − 1).
	got := distanceGrid(t, m, CacheSpec{Kind: SinkWindow, Sinks: 4, Window: 3}, 10, func(rel float64) float64 {
		return math.Acos(1+rel/scale) / theta
	})
	checkGrid(t, got, cacheDistances43)
}

// TestSlidingWindowMask: Mistral's sliding_window 5 in a dense cache: a key
// at distance ≥ 5 gets no weight (x), positions stay the stream's.
func TestSlidingWindowMask(t *testing.T) {
	m, _ := variantModel(t, "mistral-sliding", 1)
	m.layers = m.layers[:1]
	got := distanceGrid(t, m, CacheSpec{Kind: Dense}, 8, func(rel float64) float64 {
		return math.Acos(1+rel/float64(m.scale)) / m.invFreq[0]
	})
	checkGrid(t, got, [][]int{
		{0, x, x, x, x, x, x, x},
		{1, 0, x, x, x, x, x, x},
		{2, 1, 0, x, x, x, x, x},
		{3, 2, 1, 0, x, x, x, x},
		{4, 3, 2, 1, 0, x, x, x},
		{x, 4, 3, 2, 1, 0, x, x}, // distance 5 masked
		{x, x, 4, 3, 2, 1, 0, x},
		{x, x, x, 4, 3, 2, 1, 0},
	})
}

// TestALiBiSlopes: MPT's slopes for 4, 6 and 8 heads (bias max 8) and
// Falcon's for 4 and 6 heads, as the ALiBi paper and transformers give
// them.
func TestALiBiSlopes(t *testing.T) {
	p := func(e ...float64) []float32 {
		out := make([]float32, len(e))
		for i, v := range e {
			out[i] = float32(math.Exp2(-v))
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		got, want []float32
	}{
		{"mpt 4", mptSlopes(4, 8), p(2, 4, 6, 8)},
		{"mpt 8", mptSlopes(8, 8), p(1, 2, 3, 4, 5, 6, 7, 8)},
		{"mpt 6", mptSlopes(6, 8), p(2, 4, 6, 8, 1, 3)}, // odd then even of the 8-head slopes
		{"mpt 4 max 16", mptSlopes(4, 16), p(4, 8, 12, 16)},
		{"falcon 4", bloomSlopes(4), p(2, 4, 6, 8)},
		{"falcon 6", bloomSlopes(6), p(2, 4, 6, 8, 1, 3)},
		{"falcon 16 (bf16)", bloomSlopes(16)[:3], []float32{bf16(float32(math.Exp2(-0.5))), 0.5, bf16(float32(math.Exp2(-1.5)))}},
	} {
		for i := range tc.want {
			if math.Abs(float64(tc.got[i]-tc.want[i])) > 1e-7*float64(tc.want[i]) {
				t.Errorf("%s: slopes %v, want %v", tc.name, tc.got, tc.want)
				break
			}
		}
	}
}

// TestQKVOffsets: where each head's q, k, v sit in the fused rows of
// Falcon's three layouts and MPT's (in hd blocks).
func TestQKVOffsets(t *testing.T) {
	blocks := func(o []int) []int {
		out := make([]int, len(o))
		for i, v := range o {
			out[i] = v / 2
		}
		return out
	}
	for _, tc := range []struct {
		layout  model.QKVLayout
		H, KV   int
		q, k, v []int
	}{
		{model.QKVPerHead, 3, 3, []int{0, 3, 6}, []int{1, 4, 7}, []int{2, 5, 8}},
		{model.QKVGrouped, 4, 1, []int{0, 1, 2, 3}, []int{4}, []int{5}},       // multi_query
		{model.QKVGrouped, 4, 2, []int{0, 1, 4, 5}, []int{2, 6}, []int{3, 7}}, // new_decoder_architecture
		{model.QKVBlocked, 4, 2, []int{0, 1, 2, 3}, []int{4, 5}, []int{6, 7}}, // MPT / separate
	} {
		q, k, v := qkvOffsets(tc.layout, tc.H, tc.KV, 2)
		if g := fmt.Sprint(blocks(q), blocks(k), blocks(v)); g != fmt.Sprint(tc.q, tc.k, tc.v) {
			t.Errorf("%s H%d KV%d: q k v blocks %s, want %v %v %v", tc.layout, tc.H, tc.KV, g, tc.q, tc.k, tc.v)
		}
	}
}
