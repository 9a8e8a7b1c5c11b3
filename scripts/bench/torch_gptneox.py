#!/usr/bin/python3
"""GPT-NeoX training-step benchmark in plain PyTorch (no transformers).

The same architecture as sinktrain's model: parallel residual, partial
rotary (rotary_pct of each head, GPT-NeoX rotate_half layout), fused QKV in
the [H, 3, hd] per-head layout, exact-erf GELU, untied input/output
embeddings, final LayerNorm. One step = forward, mean next-token
cross-entropy, backward, AdamW update (torch.optim.AdamW with its defaults).

Attention: --attn sdpa (the default where it exists, PyTorch >= 2.0: causal
F.scaled_dot_product_attention, what transformers uses by default) or eager
(scores, masked softmax, weighted sum, as in PyTorch 1.x).

Prints one JSON line: {"tok_s": ..., "tok_s_median": ..., "step_s": [...],
"params": ..., "threads": ..., "attn": ..., "torch": ...}; tok_s is over all
timed steps, tok_s_median from the median step.
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Rotary:
    def __init__(self, hd, pct, base, T):
        self.rot = int(hd * pct)
        inv = 1.0 / (base ** (torch.arange(0, self.rot, 2).float() / self.rot))
        f = torch.outer(torch.arange(T).float(), inv)
        emb = torch.cat([f, f], dim=-1)
        self.cos, self.sin = emb.cos()[None, None], emb.sin()[None, None]  # [1,1,T,rot]

    def __call__(self, x):  # x [B,H,T,hd]
        r, p = x[..., : self.rot], x[..., self.rot :]
        h = self.rot // 2
        rh = torch.cat([-r[..., h:], r[..., :h]], dim=-1)
        return torch.cat([r * self.cos + rh * self.sin, p], dim=-1)


SDPA = hasattr(F, "scaled_dot_product_attention")


class Layer(nn.Module):
    def __init__(self, d, H, ffn, rope, eps, attn):
        super().__init__()
        self.H, self.hd, self.rope, self.attn = H, d // H, rope, attn
        self.ln1, self.ln2 = nn.LayerNorm(d, eps=eps), nn.LayerNorm(d, eps=eps)
        self.qkv, self.dense = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc1, self.fc2 = nn.Linear(d, ffn), nn.Linear(ffn, d)

    def forward(self, x, mask):
        B, T, D = x.shape
        qkv = self.qkv(self.ln1(x)).view(B, T, self.H, 3 * self.hd).permute(0, 2, 1, 3)
        q, k, v = qkv.chunk(3, dim=-1)
        q, k = self.rope(q), self.rope(k)
        if self.attn == "sdpa":
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            s = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd)
            a = torch.softmax(s.masked_fill(mask, float("-inf")), dim=-1) @ v
        a = a.permute(0, 2, 1, 3).reshape(B, T, D)
        return x + self.dense(a) + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class GPTNeoX(nn.Module):
    def __init__(self, V, d, L, H, ffn, T, pct=0.25, base=10000, eps=1e-5, attn="eager"):
        super().__init__()
        rope = Rotary(d // H, pct, base, T)
        self.embed_in = nn.Embedding(V, d)
        self.layers = nn.ModuleList([Layer(d, H, ffn, rope, eps, attn) for _ in range(L)])
        self.final = nn.LayerNorm(d, eps=eps)
        self.embed_out = nn.Linear(d, V, bias=False)
        self.register_buffer("mask", torch.triu(torch.ones(T, T, dtype=torch.bool), 1))

    def forward(self, ids):
        x = self.embed_in(ids)
        for l in self.layers:
            x = l(x, self.mask)
        return self.embed_out(self.final(x))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--block", type=int, default=256)
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--d", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--attn", choices=["sdpa", "eager"], default="sdpa" if SDPA else "eager")
    ap.add_argument("--check-attn", action="store_true",
                    help="print the relative difference of sdpa and eager logits (same weights) and exit")
    a = ap.parse_args()
    if (a.attn == "sdpa" or a.check_attn) and not SDPA:
        ap.error(f"--attn sdpa needs PyTorch >= 2.0 (this is {torch.__version__})")
    if a.check_attn:
        torch.manual_seed(1)
        m = GPTNeoX(a.vocab, a.d, a.layers, a.heads, 4 * a.d, a.block, attn="eager")
        ids = torch.randint(0, a.vocab, (2, a.block))
        with torch.no_grad():
            want = m(ids)
            for l in m.layers:
                l.attn = "sdpa"
            got = m(ids)
        rel = ((got - want).norm() / want.norm()).item()
        print(json.dumps({"sdpa_vs_eager_rel": rel, "torch": torch.__version__}))
        return
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    m = GPTNeoX(a.vocab, a.d, a.layers, a.heads, 4 * a.d, a.block, attn=a.attn)
    print(json.dumps(train_steps(m, a, attn=a.attn, batch=a.batch)))


def train_steps(m, a, **extra):
    """Times a.warmup + a.steps AdamW steps of m on one random batch
    (a.batch × a.block ids below a.vocab); returns the JSON report (tok/s
    over the timed steps, their median, every step time, parameters) with
    extra fields added. torch_llama.py times its model with it too."""
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    ids = torch.randint(0, a.vocab, (a.batch, a.block))
    times = []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        logits = m(ids)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, a.vocab), ids[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i >= a.warmup:
            times.append(time.perf_counter() - t0)
    return {"tok_s": a.batch * a.block * len(times) / sum(times), "tok_s_median": a.batch * a.block / statistics.median(times),
            "step_s": times, "params": sum(p.numel() for p in m.parameters()), "threads": a.threads,
            "loss": loss.item(), "torch": torch.__version__, **extra}


if __name__ == "__main__":
    main()
