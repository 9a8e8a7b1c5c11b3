// Package train pretrains and finetunes attention-sink GPT-NeoX and Llama
// models on CPU: a nanoGPT-style [Config] (every default in one place,
// presets in configs/, typed key=value overrides; arch picks the
// architecture), AdamW with decoupled weight decay, a warmup + cosine
// schedule, global-norm clipping, one model graph per worker sharing the
// weights, periodic validation, metrics.jsonl, and Hugging Face Trainer-like
// checkpoints (DESIGN.md §5) written atomically and resumed exactly. How a
// run is spread over the machine (workers, BLAS threads) is a [Runtime]
// setting, not part of the Config.
//
// It imports model, model/graph, data, data/tokenizer, checkpoint,
// autograd (BLAS threads), internal/kernels (AdamW), sinktoken and
// configs; it must not import infer, study or cmd.
package train
