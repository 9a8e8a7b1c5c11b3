#!/usr/bin/env python3
"""Check a sinktrain export against Hugging Face transformers.

Loads EXPORT with AutoModelForCausalLM.from_pretrained (the class config.json
names: GPTNeoXForCausalLM, LlamaForCausalLM, ...) and AutoTokenizer, checks
that every tensor loaded (no missing or unexpected keys; a tied head is the
embedding), that the tokenizer knows the model's sink tokens (ids, special),
runs the model in float64 (eager attention) and compares with what sinktrain
computed, printing the max relative difference. Exit status 1 when it exceeds
--tol or a check fails.

What sinktrain computed is one or both of:
  --logits FILE   safetensors with input_ids [B,T] and logits [B,T,V], from
                  `go run ./scripts/dumplogits --model EXPORT --out FILE`
  --nll CSV --ids FILE
                  `sinktrain eval stream --model EXPORT --ids FILE --cache dense
                  --nll-out CSV` (index,token_id,nll: -log p(ids[index] | ids[:index]))

Examples:
  go run ./scripts/dumplogits --model out/hf --out /tmp/logits.safetensors
  python3 scripts/check_hf.py out/hf --logits /tmp/logits.safetensors
"""
import argparse
import csv
import json
import os
import sys

import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer


def rel(a, b):
    """Relative difference ||a-b|| / ||b|| of two tensors."""
    return (torch.linalg.vector_norm(a - b) / torch.linalg.vector_norm(b)).item()


def check_tokenizer(export, cfg):
    if not os.path.exists(os.path.join(export, "tokenizer.json")):
        print("tokenizer: none in the export (skipped)")
        return True
    tok = AutoTokenizer.from_pretrained(export)
    st = cfg.get("sinktrain") or {}
    names, ids = st.get("sink_tokens") or [], st.get("sink_ids") or []
    ok = True
    for name, want in zip(names, ids):
        got = tok.convert_tokens_to_ids(name)
        enc = tok(name + "hello", add_special_tokens=False)["input_ids"]
        special = name in tok.all_special_tokens
        if got != want or enc[0] != want or not special:
            print(f"tokenizer: {name}: id {got} (want {want}), encodes to {enc[:3]}, special {special}: FAIL")
            ok = False
    print(f"tokenizer: {type(tok).__name__}, {len(tok)} tokens, sinks {names} -> {ids}: {'ok' if ok else 'FAIL'}")
    return ok


def check_loading(model, cfg, info):
    """Every tensor of the file is a parameter and every parameter came from the
    file; a tied head (tie_word_embeddings) is the input embedding itself."""
    ok = True
    want = (cfg.get("architectures") or [None])[0]
    if want and type(model).__name__ != want:
        print(f"loading: built {type(model).__name__}, config.json names {want}: FAIL")
        ok = False
    tied = bool(cfg.get("tie_word_embeddings"))
    bad = {k: list(info.get(k) or []) for k in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs")}
    if tied:  # the head is not in the file; it is the embedding (checked below)
        bad["missing_keys"] = [k for k in bad["missing_keys"] if k not in ("lm_head.weight", "embed_out.weight")]
    bad = {k: v for k, v in bad.items() if v}
    if bad:
        print(f"loading: {bad}: FAIL")
        ok = False
    same = model.get_output_embeddings().weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    if tied != same:
        print(f"loading: tie_word_embeddings {tied} but the head {'is' if same else 'is not'} the embedding: FAIL")
        ok = False
    print(f"loading: {type(model).__name__} ({cfg.get('model_type')}), tied head {same}, every tensor loaded: {'ok' if ok else 'FAIL'}")
    return ok


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("export", help="exported folder (config.json, model.safetensors, tokenizer files)")
    p.add_argument("--logits", help="safetensors file of sinktrain logits (scripts/dumplogits)")
    p.add_argument("--nll", help="CSV of sinktrain NLLs (sinktrain eval stream --nll-out)")
    p.add_argument("--ids", help="whitespace-separated ids fed to sinktrain eval (with --nll)")
    p.add_argument("--tol", type=float, default=1e-5, help="max relative difference accepted (default 1e-5; float32 reaches about 2e-7)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = p.parse_args()
    if not a.logits and not a.nll:
        p.error("give --logits and/or --nll with --ids")
    if a.nll and not a.ids:
        p.error("--nll needs --ids")

    with open(os.path.join(a.export, "config.json")) as f:
        cfg = json.load(f)
    model, info = AutoModelForCausalLM.from_pretrained(a.export, attn_implementation="eager", output_loading_info=True)
    ok = check_loading(model, cfg, info)
    model = model.to(device=a.device, dtype=torch.float64).eval()  # exact upcast of f16/bf16 weights
    print(f"model: {a.export}: {type(model).__name__}, {sum(x.numel() for x in model.parameters())} params, "
          f"stored as {cfg.get('torch_dtype') or cfg.get('dtype')}, run in float64 on {a.device}")
    ok = check_tokenizer(a.export, cfg) and ok

    worst = 0.0
    with torch.no_grad():
        if a.logits:
            ours = load_file(a.logits)
            ids = ours["input_ids"].to(a.device)
            hf = model(input_ids=ids).logits.cpu()
            mine = ours["logits"].to(torch.float64)
            d = rel(mine, hf)
            per_row = max(rel(mine[i, j], hf[i, j]) for i in range(hf.shape[0]) for j in range(hf.shape[1]))
            print(f"logits {tuple(hf.shape)}: relative difference {d:.3g} (worst position {per_row:.3g}), "
                  f"max abs {(mine - hf).abs().max().item():.3g}")
            worst = max(worst, d)
        if a.nll:
            with open(a.ids) as f:
                ids = [int(x) for x in f.read().split()]
            with open(a.nll) as f:
                rows = list(csv.DictReader(f))
            x = torch.tensor([ids], device=a.device)
            logp = torch.log_softmax(model(input_ids=x).logits[0].cpu(), dim=-1)
            mine = torch.tensor([float(r["nll"]) for r in rows], dtype=torch.float64)
            hf = torch.tensor([-logp[int(r["index"]) - 1, int(r["token_id"])].item() for r in rows], dtype=torch.float64)
            d = rel(mine, hf)
            print(f"nll over {len(rows)} targets: relative difference {d:.3g}, "
                  f"mean nll ours {mine.mean().item():.6f} hf {hf.mean().item():.6f}")
            worst = max(worst, d)
    print(f"max relative difference: {worst:.3g} (tol {a.tol:g})")
    ok = ok and worst <= a.tol
    print("OK" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
