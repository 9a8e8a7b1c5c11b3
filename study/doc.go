// Package study owns the experiment harness on top of the streaming engine:
// the token sources of an evaluation ([Source]: a text file, an ids file or
// a dataset), `sinktrain eval stream` ([EvalStream]: a table or JSON lines,
// per-token NLL CSV files), `sinktrain compare` (every model under every
// cache spec, results.json, results.csv, table.md, rolling-perplexity
// plots, the written report) and `sinktrain inspect attention` (α_k per
// layer and head, Sink_k^ε, heatmaps).
//
// It imports infer, checkpoint and data (for dataset sources); it must not
// import gorgonia, autograd, model/graph or train, and it builds without
// cgo.
package study
