// Package train pretrains and finetunes attention-sink GPT-NeoX and Llama
// models on CPU: a nanoGPT-style [Config] (every default in one place,
// presets in configs/, typed key=value overrides; arch picks the
// architecture), AdamW with decoupled weight decay, a warmup + cosine
// schedule, global-norm clipping, one model graph per worker sharing the
// weights, periodic validation, metrics.jsonl, and Hugging Face Trainer-like
// checkpoints (DESIGN.md §5) written atomically and resumed exactly.
package train
