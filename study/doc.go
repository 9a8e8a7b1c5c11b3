// Package study owns the experiment harness on top of the streaming engine:
// `sinktrain compare` (every model under every cache spec, results.json,
// results.csv, table.md, rolling-perplexity plots, the written report) and
// `sinktrain inspect attention` (α_k per layer and head, Sink_k^ε, heatmaps).
// It imports infer and checkpoint; it must not import gorgonia, model/graph
// or train.
package study
