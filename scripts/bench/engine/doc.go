// Command engine times sinktrain's streaming engine the way llama.cpp's
// llama-bench times llama.cpp, for docs/PERFORMANCE.md (issue 16):
//
//	go run ./scripts/bench/engine model --shape ref --out DIR [--tokenizer FILE]
//	go run ./scripts/bench/engine bench --model DIR [--dtype bfloat16] [-p 512] [-n 128] [-r 5] [--cache dense]
//
// model writes a randomly initialised sinktrain checkpoint (config.json,
// model.safetensors, and tokenizer.json when given) of the reference shape
// (d=256, 4 layers, vocab 4096) or of Pythia-160M's (d=768, 12 layers,
// vocab 50304). bench loads a model folder and prints one JSON line: like
// llama-bench's pp and tg tests, "pp" is the prefill of -p tokens into an
// empty cache (tokens per second), "tg" the generation of -n tokens one at
// a time from an empty cache (tokens per second and ms per token), each the
// median of -r repetitions after one warm-up; the threads are GOMAXPROCS.
// Like llama-bench, which clears one context's cache between repetitions,
// each test reuses one session, reset before every repetition.
//
// It imports checkpoint, infer, model and sinktoken.
package main
