#!/usr/bin/python3
"""Llama training-step benchmark in plain PyTorch (no transformers): the
twin of torch_gptneox.py for sinktrain's Llama reference twin
(configs/reference-llama.json).

The same architecture as transformers' LlamaForCausalLM and sinktrain's
Llama graph: pre-norm sequential blocks, RMSNorm (float32, eps 1e-5),
separate q/k/v projections without bias, grouped-query attention (kv heads
shared by num_heads / num_kv_heads query heads), full RoPE (rotate_half,
theta 10000), SwiGLU MLP down(silu(gate(x)) * up(x)), untied head. One step
= forward, mean next-token cross-entropy, backward, AdamW update
(torch.optim.AdamW).

Prints one JSON line: {"tok_s": ..., "step_s": [...], "params": ..., "threads": ...}.
"""
import argparse
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_gptneox import train_steps  # noqa: E402


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(d)), eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


class Rotary:
    def __init__(self, hd, base, T):
        inv = 1.0 / (base ** (torch.arange(0, hd, 2).float() / hd))
        f = torch.outer(torch.arange(T).float(), inv)
        emb = torch.cat([f, f], dim=-1)
        self.cos, self.sin = emb.cos()[None, None], emb.sin()[None, None]  # [1,1,T,hd]

    def __call__(self, x):  # x [B,H,T,hd]
        h = x.shape[-1] // 2
        rh = torch.cat([-x[..., h:], x[..., :h]], dim=-1)
        return x * self.cos + rh * self.sin


class Layer(nn.Module):
    def __init__(self, d, H, KV, ffn, rope, eps):
        super().__init__()
        self.H, self.KV, self.hd, self.rope = H, KV, d // H, rope
        self.input_layernorm, self.post_attention_layernorm = RMSNorm(d, eps), RMSNorm(d, eps)
        self.q_proj = nn.Linear(d, H * self.hd, bias=False)
        self.k_proj = nn.Linear(d, KV * self.hd, bias=False)
        self.v_proj = nn.Linear(d, KV * self.hd, bias=False)
        self.o_proj = nn.Linear(H * self.hd, d, bias=False)
        self.gate_proj, self.up_proj = nn.Linear(d, ffn, bias=False), nn.Linear(d, ffn, bias=False)
        self.down_proj = nn.Linear(ffn, d, bias=False)

    def forward(self, x, mask):
        B, T, D = x.shape
        h = self.input_layernorm(x)
        q = self.q_proj(h).view(B, T, self.H, self.hd).transpose(1, 2)
        k = self.k_proj(h).view(B, T, self.KV, self.hd).transpose(1, 2)
        v = self.v_proj(h).view(B, T, self.KV, self.hd).transpose(1, 2)
        q, k = self.rope(q), self.rope(k)
        g = self.H // self.KV
        k, v = k.repeat_interleave(g, dim=1), v.repeat_interleave(g, dim=1)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd)
        p = torch.softmax(s.masked_fill(mask, float("-inf")), dim=-1)
        a = (p @ v).transpose(1, 2).reshape(B, T, self.H * self.hd)
        x = x + self.o_proj(a)
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Llama(nn.Module):
    def __init__(self, V, d, L, H, KV, ffn, T, base=10000, eps=1e-5):
        super().__init__()
        rope = Rotary(d // H, base, T)
        self.embed_tokens = nn.Embedding(V, d)
        self.layers = nn.ModuleList([Layer(d, H, KV, ffn, rope, eps) for _ in range(L)])
        self.norm = RMSNorm(d, eps)
        self.lm_head = nn.Linear(d, V, bias=False)
        self.register_buffer("mask", torch.triu(torch.ones(T, T, dtype=torch.bool), 1))

    def forward(self, ids):
        x = self.embed_tokens(ids)
        for l in self.layers:
            x = l(x, self.mask)
        return self.lm_head(self.norm(x))


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
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--ffn", type=int, default=688)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    m = Llama(a.vocab, a.d, a.layers, a.heads, a.kv_heads, a.ffn, a.block)
    print(json.dumps(train_steps(m, a)))

if __name__ == "__main__":
    main()
