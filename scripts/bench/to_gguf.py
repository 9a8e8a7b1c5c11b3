#!/usr/bin/python3
"""Writes a sinktrain GPT-NeoX checkpoint (config.json, model.safetensors,
tokenizer.json when present) as a GGUF file that llama.cpp loads, for the
decode/prefill comparison of docs/PERFORMANCE.md (issue 16).

    PYTHONPATH=$LLAMA_CPP/gguf-py /usr/bin/python3 scripts/bench/to_gguf.py \
        MODEL_DIR OUT.gguf [--dtype f32|bf16]

It uses llama.cpp's own gguf-py (GGUFWriter), with llama.cpp's tensor names
and its GPT-NeoX layout (the per-head fused q|k|v rows regrouped into
[q; k; v], as convert_hf_to_gguf.py does); 2-D weights are stored in --dtype
(bf16 rounds to nearest even, like sinktrain's --dtype bfloat16), norms and
biases in f32. convert_hf_to_gguf.py itself needs transformers for the
vocabulary, which this machine lacks: the vocabulary here comes from
tokenizer.json (tokens, merges, special tokens) or, without one, is a
synthetic list of distinct token strings with one dummy merge (llama-bench feeds
token ids, never text). Needs numpy (Debian python3-numpy) and, for gguf-py,
python3-sentencepiece.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np

import gguf


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        out = {}
        for name, info in header.items():
            if name == "__metadata__":
                continue
            if info["dtype"] != "F32":
                sys.exit(f"{path}: {name} is {info['dtype']}, expected F32 (a sinktrain checkpoint)")
            a, b = info["data_offsets"]
            f.seek(base + a)
            out[name] = np.frombuffer(f.read(b - a), dtype="<f4").reshape(info["shape"])
        return out


def bf16(x):
    """float32 → bfloat16 bits, round to nearest even (as torch and sinktrain)."""
    u = np.ascontiguousarray(x, dtype="<f4").view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--dtype", choices=["f32", "bf16"], default="f32")
    a = ap.parse_args()
    cfg = json.load(open(os.path.join(a.model, "config.json")))
    if cfg.get("model_type") != "gpt_neox":
        sys.exit("only gpt_neox checkpoints are converted")
    w = read_safetensors(os.path.join(a.model, "model.safetensors"))
    D, H, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    hd = D // H
    rot = cfg.get("rotary_pct", cfg.get("rope_parameters", {}).get("partial_rotary_factor", 1.0))
    base = cfg.get("rotary_emb_base", cfg.get("rope_parameters", {}).get("rope_theta", 10000))

    wr = gguf.GGUFWriter(a.out, "gptneox")
    wr.add_name(os.path.basename(os.path.normpath(a.model)))
    wr.add_context_length(max(cfg.get("max_position_embeddings", 2048), 4096))
    wr.add_embedding_length(D)
    wr.add_block_count(L)
    wr.add_feed_forward_length(cfg["intermediate_size"])
    wr.add_rope_dimension_count(int(rot * hd))
    wr.add_rope_freq_base(float(base))
    wr.add_head_count(H)
    wr.add_parallel_residual(cfg.get("use_parallel_residual", True))
    wr.add_layer_norm_eps(cfg.get("layer_norm_eps", 1e-5))
    wr.add_file_type(gguf.LlamaFileType.MOSTLY_BF16 if a.dtype == "bf16" else gguf.LlamaFileType.ALL_F32)

    V = cfg["vocab_size"]
    # llama.cpp refuses a gpt2 vocabulary without merges (an empty list is
    # not written): one merge of two synthetic tokens, never applied to ids.
    tokens, types, merges = [f"<t{i}>" for i in range(V)], [gguf.TokenType.NORMAL] * V, ["<t0> <t1>"]
    tp = os.path.join(a.model, "tokenizer.json")
    if os.path.exists(tp):
        tj = json.load(open(tp, encoding="utf-8"))
        for t, i in tj["model"]["vocab"].items():
            if i < V:
                tokens[i] = t
        for at in tj.get("added_tokens", []):
            if at["id"] < V:
                tokens[at["id"]] = at["content"]
                types[at["id"]] = gguf.TokenType.CONTROL if at.get("special") else gguf.TokenType.USER_DEFINED
        merges = [m if isinstance(m, str) else " ".join(m) for m in tj["model"].get("merges", [])]
    wr.add_tokenizer_model("gpt2")
    wr.add_tokenizer_pre("default")
    wr.add_token_list(tokens)
    wr.add_token_types(types)
    wr.add_token_merges(merges)
    wr.add_bos_token_id(0)
    wr.add_eos_token_id(0)

    def put(name, x):
        x = np.ascontiguousarray(x, dtype=np.float32)
        if a.dtype == "bf16" and x.ndim == 2:
            wr.add_tensor(name, bf16(x), raw_shape=x.shape, raw_dtype=gguf.GGMLQuantizationType.BF16)
        else:
            wr.add_tensor(name, x)

    put("token_embd.weight", w["gpt_neox.embed_in.weight"])
    for i in range(L):
        p = f"gpt_neox.layers.{i}."
        q = f"blk.{i}."
        put(q + "attn_norm.weight", w[p + "input_layernorm.weight"])
        put(q + "attn_norm.bias", w[p + "input_layernorm.bias"])
        qkv = w[p + "attention.query_key_value.weight"].reshape(H, 3, hd, D)
        put(q + "attn_qkv.weight", np.concatenate([qkv[:, j].reshape(-1, D) for j in range(3)], axis=0))
        qb = w[p + "attention.query_key_value.bias"].reshape(H, 3, hd)
        put(q + "attn_qkv.bias", np.concatenate([qb[:, j].reshape(-1) for j in range(3)]))
        put(q + "attn_output.weight", w[p + "attention.dense.weight"])
        put(q + "attn_output.bias", w[p + "attention.dense.bias"])
        put(q + "ffn_norm.weight", w[p + "post_attention_layernorm.weight"])
        put(q + "ffn_norm.bias", w[p + "post_attention_layernorm.bias"])
        put(q + "ffn_up.weight", w[p + "mlp.dense_h_to_4h.weight"])
        put(q + "ffn_up.bias", w[p + "mlp.dense_h_to_4h.bias"])
        put(q + "ffn_down.weight", w[p + "mlp.dense_4h_to_h.weight"])
        put(q + "ffn_down.bias", w[p + "mlp.dense_4h_to_h.bias"])
    put("output_norm.weight", w["gpt_neox.final_layer_norm.weight"])
    put("output_norm.bias", w["gpt_neox.final_layer_norm.bias"])
    put("output.weight", w["embed_out.weight"])
    wr.write_header_to_file()
    wr.write_kv_data_to_file()
    wr.write_tensors_to_file()
    wr.close()


if __name__ == "__main__":
    main()
