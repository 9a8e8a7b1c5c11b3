#!/usr/bin/python3
"""GPT-NeoX training-step benchmark in plain PyTorch (no transformers).

The same architecture as sinktrain's model: parallel residual, partial
rotary (rotary_pct of each head, GPT-NeoX rotate_half layout), fused QKV in
the [H, 3, hd] per-head layout, exact-erf GELU, untied input/output
embeddings, final LayerNorm. One step = forward, mean next-token
cross-entropy, backward, AdamW update (fused by nothing: torch.optim.AdamW).

Prints one JSON line: {"tok_s": ..., "step_s": [...], "params": ..., "threads": ...}.
"""
import argparse
import json
import math
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


class Layer(nn.Module):
    def __init__(self, d, H, ffn, rope, eps):
        super().__init__()
        self.H, self.hd, self.rope = H, d // H, rope
        self.ln1, self.ln2 = nn.LayerNorm(d, eps=eps), nn.LayerNorm(d, eps=eps)
        self.qkv, self.dense = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc1, self.fc2 = nn.Linear(d, ffn), nn.Linear(ffn, d)

    def forward(self, x, mask):
        B, T, D = x.shape
        qkv = self.qkv(self.ln1(x)).view(B, T, self.H, 3 * self.hd).permute(0, 2, 1, 3)
        q, k, v = qkv.chunk(3, dim=-1)
        q, k = self.rope(q), self.rope(k)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd)
        p = torch.softmax(s.masked_fill(mask, float("-inf")), dim=-1)
        a = (p @ v).permute(0, 2, 1, 3).reshape(B, T, D)
        return x + self.dense(a) + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class GPTNeoX(nn.Module):
    def __init__(self, V, d, L, H, ffn, T, pct=0.25, base=10000, eps=1e-5):
        super().__init__()
        rope = Rotary(d // H, pct, base, T)
        self.embed_in = nn.Embedding(V, d)
        self.layers = nn.ModuleList([Layer(d, H, ffn, rope, eps) for _ in range(L)])
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
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    m = GPTNeoX(a.vocab, a.d, a.layers, a.heads, 4 * a.d, a.block)
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
    params = sum(p.numel() for p in m.parameters())
    tok = a.batch * a.block * len(times) / sum(times)
    print(json.dumps({"tok_s": tok, "step_s": times, "params": params, "threads": a.threads, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
