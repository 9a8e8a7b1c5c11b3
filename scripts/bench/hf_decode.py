#!/usr/bin/env python3
"""Hugging Face transformers on CPU, the comparison row of sinktrain's
infer.BenchmarkSmolLM: decode ms/token and prefill tok/s of a randomly
initialised LlamaForCausalLM of SmolLM-135M's shapes (d=576, 30 layers,
9 heads, 3 kv heads, ffn 1536, vocab 49152, tied), float32 (or --dtype
bfloat16: weights, activations and cache in bfloat16), batch 1.

    python3 scripts/bench/hf_decode.py --threads 2 [--cache 1024] [--steps 32] [--dtype bfloat16]

Cache: sinktrain runs 4+1020 (K+W = 1024 keys per decoded token). When this
transformers still has SinkCache (removed in 4.53) it runs SinkCache(1020, 4);
otherwise a dense DynamicCache holding `cache` tokens, which is the same
per-token attention work (1024 keys), and says so in "cache_kind".

Prefill: one forward of `cache` tokens with use_cache (the prompt), timed
after a warm-up; sinktrain's prefill row is Session.Prefill of the same
count. Prints one JSON line.
"""
import argparse
import json
import statistics
import time

import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cache", type=int, default=1024, help="keys per decoded token (K+W)")
    ap.add_argument("--sinks", type=int, default=4)
    ap.add_argument("--steps", type=int, default=32, help="decoded tokens timed")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    cfg = LlamaConfig(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                      num_attention_heads=9, num_key_value_heads=3, tie_word_embeddings=True,
                      max_position_embeddings=8192, rms_norm_eps=1e-5)
    model = LlamaForCausalLM(cfg).eval().to(getattr(torch, a.dtype))
    V = cfg.vocab_size
    ids = torch.randint(0, V, (1, a.cache + a.steps + 8))

    sink_cache = getattr(transformers, "SinkCache", None)
    with torch.inference_mode():
        # Prefill: warm up once, then time one forward of `cache` tokens.
        model(ids[:, :64], use_cache=True)
        t0 = time.perf_counter()
        out = model(ids[:, : a.cache], use_cache=True)
        prefill_s = time.perf_counter() - t0

        if sink_cache is not None:
            kind = f"SinkCache(window_length={a.cache}, num_sink_tokens={a.sinks})"
            past = sink_cache(window_length=a.cache, num_sink_tokens=a.sinks)
            out = model(ids[:, : a.cache], past_key_values=past, use_cache=True)
        else:
            kind = f"DynamicCache (dense) of {a.cache} tokens: the same keys per step as {a.sinks}+{a.cache - a.sinks}"
            # Keep the dense cache at `cache` keys per decoded token: prefill
            # cache-1 tokens, each decoded token then attends to `cache` keys
            # at the first step and a few more at the last (steps ≪ cache).
            out = model(ids[:, : a.cache - 1], use_cache=True)
        past = out.past_key_values
        tok = out.logits[:, -1:].argmax(-1)
        times = []
        for i in range(a.steps):
            t0 = time.perf_counter()
            out = model(tok, past_key_values=past, use_cache=True)
            tok = out.logits[:, -1:].argmax(-1)
            times.append(time.perf_counter() - t0)
            past = out.past_key_values
    print(json.dumps({
        "impl": "transformers", "transformers": transformers.__version__, "torch": torch.__version__,
        "threads": a.threads, "dtype": a.dtype, "cache_kind": kind, "keys_per_step": a.cache,
        "decode_ms_per_token": 1e3 * statistics.median(times), "decode_ms_mean": 1e3 * statistics.mean(times),
        "prefill_tokens": a.cache, "prefill_tok_s": a.cache / prefill_s,
        "params": sum(p.numel() for p in model.parameters()),
    }))


if __name__ == "__main__":
    main()
