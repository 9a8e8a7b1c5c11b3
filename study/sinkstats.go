package study

import (
	"fmt"
	"math"
)

// SinkPositions is the number of leading positions k = 0..SinkPositions-1
// whose attention mass α_k inspect reports.
const SinkPositions = 8

// HeatmapTokens is the side of the head-averaged attention maps that inspect
// plots (the first 64 tokens, as in StreamingLLM's Figure 2).
const HeatmapTokens = 64

// SinkStats are the attention-sink statistics of Gu et al. (ICLR 2025) for
// one model over one token sequence, computed from dense attention.
type SinkStats struct {
	Layers  int     `json:"layers"`
	Heads   int     `json:"heads"`
	Tokens  int     `json:"tokens"`  // T, the number of queries (and keys)
	Epsilon float64 `json:"epsilon"` // ε of Sink_k^ε
	// Alpha[l][h][k] = α_k = mean over queries i ≥ k of A[i,k]. [L][H][SinkPositions]
	Alpha [][][]float64 `json:"alpha"`
	// AlphaLayer[l][k] = α_k averaged over the heads of layer l. [L][SinkPositions]
	AlphaLayer [][]float64 `json:"alpha_layer"`
	// SinkRate[k] = Sink_k^ε = fraction of (layer, head) pairs with α_k > ε. [SinkPositions]
	SinkRate []float64 `json:"sink_rate"`
	// RowSumMin and RowSumMax bound Σ_j A[i,j] over every row: 1 for
	// softmax; ≤ 1 for softmax1 and sink_logit (the rest is on the virtual sink).
	RowSumMin float64 `json:"row_sum_min"`
	RowSumMax float64 `json:"row_sum_max"`
	// Heatmap[l][i][j] = A[i,j] averaged over the heads of layer l for
	// i, j < min(T, HeatmapTokens). [L][n][n]
	Heatmap [][][]float64 `json:"-"`
}

// sinkAccum accumulates attention rows into SinkStats without keeping the
// full [L, H, T, T] attention tensor.
type sinkAccum struct {
	layers, heads, tokens int
	sum                   [][][]float64 // [L][H][SinkPositions] Σ_{i≥k} A[i,k]
	heat                  [][][]float64 // [L][n][n] Σ_h A[i,j]
	rowMin, rowMax        float64
	rows                  int
}

func newSinkAccum(layers, heads, tokens int) *sinkAccum {
	n := min(tokens, HeatmapTokens)
	a := &sinkAccum{layers: layers, heads: heads, tokens: tokens, rowMin: math.Inf(1), rowMax: math.Inf(-1)}
	a.sum = make([][][]float64, layers)
	a.heat = make([][][]float64, layers)
	for l := range layers {
		a.sum[l] = make([][]float64, heads)
		for h := range heads {
			a.sum[l][h] = make([]float64, SinkPositions)
		}
		a.heat[l] = make([][]float64, n)
		for i := range n {
			a.heat[l][i] = make([]float64, n)
		}
	}
	return a
}

// add records the attention row of query i in (layer, head): row[j] = A[i,j]
// for keys j = 0..i (dense causal attention).
func (a *sinkAccum) add(layer, head, i int, row []float32) error {
	if layer < 0 || layer >= a.layers || head < 0 || head >= a.heads || i < 0 || i >= a.tokens {
		return fmt.Errorf("attention row (layer %d, head %d, query %d) outside [%d, %d, %d]", layer, head, i, a.layers, a.heads, a.tokens)
	}
	if len(row) != i+1 {
		return fmt.Errorf("attention row of query %d has %d keys, expected %d (dense causal attention)", i, len(row), i+1)
	}
	var s float64
	for _, p := range row {
		s += float64(p)
	}
	a.rowMin, a.rowMax = min(a.rowMin, s), max(a.rowMax, s)
	a.rows++
	acc := a.sum[layer][head]
	for k := 0; k < SinkPositions && k <= i; k++ {
		acc[k] += float64(row[k])
	}
	if i < len(a.heat[layer]) {
		hr := a.heat[layer][i]
		for j := range row {
			hr[j] += float64(row[j])
		}
	}
	return nil
}

// stats finishes the accumulation. Every (layer, head, query) row must have
// been added exactly once.
func (a *sinkAccum) stats(eps float64) (*SinkStats, error) {
	if want := a.layers * a.heads * a.tokens; a.rows != want {
		return nil, fmt.Errorf("got %d attention rows, expected %d (layers × heads × tokens)", a.rows, want)
	}
	s := &SinkStats{Layers: a.layers, Heads: a.heads, Tokens: a.tokens, Epsilon: eps,
		RowSumMin: a.rowMin, RowSumMax: a.rowMax, SinkRate: make([]float64, SinkPositions)}
	s.Alpha = make([][][]float64, a.layers)
	s.AlphaLayer = make([][]float64, a.layers)
	for l := range a.layers {
		s.Alpha[l] = make([][]float64, a.heads)
		s.AlphaLayer[l] = make([]float64, SinkPositions)
		for h := range a.heads {
			s.Alpha[l][h] = make([]float64, SinkPositions)
			for k := range SinkPositions {
				if k >= a.tokens {
					continue // no query i ≥ k: α_k is undefined, reported as 0
				}
				al := a.sum[l][h][k] / float64(a.tokens-k)
				s.Alpha[l][h][k] = al
				s.AlphaLayer[l][k] += al / float64(a.heads)
				if al > eps {
					s.SinkRate[k] += 1 / float64(a.layers*a.heads)
				}
			}
		}
	}
	s.Heatmap = make([][][]float64, a.layers)
	for l := range a.layers {
		s.Heatmap[l] = make([][]float64, len(a.heat[l]))
		for i, r := range a.heat[l] {
			s.Heatmap[l][i] = make([]float64, len(r))
			for j, v := range r {
				s.Heatmap[l][i][j] = v / float64(a.heads)
			}
		}
	}
	return s, nil
}
