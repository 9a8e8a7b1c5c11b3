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
// [Session.Prefill] (passes of up to PrefillChunk rows: matrix products,
// attention in blocks of rows) and [Session.Step] (matrix-vector products
// and attention heads spread over GOMAXPROCS goroutines: a team of helper
// goroutines per Session, handed work without allocating, so a step
// allocates nothing). Matrix-matrix products go through internal/gemm
// (OpenBLAS with cgo, gonum's pure-Go BLAS without), one BLAS thread per
// goroutine, the output columns split over the goroutines; the decoding
// step's matrix-vector products over float32 weights through
// internal/kernels' Gemv (faster than OpenBLAS's sgemv on weights beyond
// the L2 cache, BenchmarkGemv); [LoadModelAs] can store the weight
// matrices as bfloat16 (half the bytes read per decoded token; products
// widen them to float32). A [Model] reads the config's model.Features and
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
// The API, typed and free of files other than the model folder's:
//
//   - [LoadModel] / [NewModel] lay out a checkpoint's weights for the
//     forward pass; [LoadTokenizer] checks a folder's tokenizer against it.
//   - [Model.NewSession] gives a [Session]: [Session.Prefill] appends
//     tokens and returns the last one's logits, [Session.Step] one token,
//     [Session.Cache] its KV cache; [Session.OnAttention] sees every
//     attention row (the attention statistics of package study).
//   - [Score] streams a [Stream] under a [CacheSpec] and reports every
//     target's NLL to a callback, exactly as token-by-token evaluation:
//     chunks of [ScoreOptions.Chunk] tokens run layer by layer as banded
//     causal attention plus the sinks' columns (DESIGN.md §12, chunk.go),
//     recompute:W windows batched; [ScoreOptions.ExactSteps] feeds one
//     token at a time, the reference the tests compare against. Buffers
//     are sized by the chunk and K+W, never by the stream; a Stream is read
//     front to back ([TokenReader]).
//   - [Sampler] draws next tokens (greedy, temperature, top-k; sinks never);
//     [Generator] continues a stream across turns under a bounded cache
//     (data/tokenizer's DecodeStream turns its tokens into text).
//
// infer is the engine only: it reads no --text/--ids/--data sources,
// writes no tables, CSV or JSON and knows no flags (package study and
// cmd/sinktrain do). It imports model, checkpoint, data/tokenizer,
// sinktoken and internal/kernels; it must not import gorgonia, autograd,
// model/graph, train, data or study, and it builds without cgo.
package infer
