// Package infer runs every architecture package model describes (GPT-NeoX,
// Llama, Mistral, Qwen2, Falcon, MPT) in pure Go, one sequence at a time,
// with the KV-cache policies of StreamingLLM (Xiao et al., arXiv
// 2309.17453):
//
//   - dense: every key is kept (the cache grows with the stream);
//   - K+W: the first K stream tokens (the attention sinks) plus the last W
//     tokens, the current one included, with positions re-assigned inside
//     the cache; 0+W is window attention;
//   - recompute:W: every token re-encodes its last W tokens from scratch
//     (positions 0..W-1), the paper's sliding-window-with-recomputation
//     baseline.
//
// A [CacheSpec] is a small value apart from the model (like streaming-llm's
// start/recent pair); a [Cache] stores keys and values per key/value head
// (grouped-query and multi-query attention share them between query heads)
// in a ring buffer that never allocates per token nor copies on eviction; a
// [Session] owns the preallocated activation buffers and runs
// [Session.Prefill] (matrix-matrix chunks through gonum's blas32) and
// [Session.Step] (matrix-vector products and attention heads spread over
// GOMAXPROCS goroutines). A [Model] reads the config's model.Features and
// runs the shared building blocks they name: LayerNorm or RMSNorm, GELU or
// SwiGLU MLP, fused or separate q/k/v (with Falcon's and MPT's layouts),
// clip_qkv, qk_ln, parallel, shared-norm or sequential residual, RoPE
// (partial, linear or llama3 scaled) or ALiBi, sliding windows.
//
// Positions inside the cache. A query sees its keys in cache order (sinks,
// then the window oldest first) and the i-th of them has cache position i,
// the query the last: a cache holding stream tokens [0 1 2 3 6 7 8] uses
// positions 0..6. RoPE scores depend only on the difference between the
// query's and the key's position, so the cache stores each window key
// rotated by its stream position and each sink key by its slot (0..K-1); a
// query is rotated twice, by its stream position for window keys and by its
// cache position for sink keys. This gives exactly the scores of rotating
// un-rotated keys with their cache positions at every step at O(1) rotation
// cost per token (TestRotationMatchesCachePositions). ALiBi adds its bias
// from the cache positions directly (MPT: slope·(i − qp); Falcon/BLOOM:
// bf16(slope·i)/√hd, as transformers computes it); TestALiBiDistancesInCache
// and TestRoPEDistancesInCache assert the distances as grids.
//
// Library entry points: [Score] (streaming NLL of a token stream),
// [EvalStream] (sinktrain eval stream) and [Generate] (sinktrain generate).
// For attention statistics, [Session.OnAttention] is called with every
// attention row.
package infer
