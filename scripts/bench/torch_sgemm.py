#!/usr/bin/python3
"""sgemm GF/s of PyTorch's CPU BLAS (MKL in pip's wheels) on given shapes.

  torch_sgemm.py --threads 1,16 --shape fc1_2048x1024x256:N:T ...

A shape is NAME_MxNxK:OPA:OPB with OP N (as stored) or T (transposed): C[m,n]
= op(A)·op(B), op(A) [m,k], op(B) [k,n], as autograd.BenchmarkSgemm names
them. Each is timed for --seconds after one warm-up call. Prints one JSON
line per (threads, shape): {"threads", "shape", "gf_s", "calls"}.
"""
import argparse
import json
import re
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1")
    ap.add_argument("--shape", action="append", required=True)
    ap.add_argument("--seconds", type=float, default=0.5)
    a = ap.parse_args()
    torch.manual_seed(1)
    for t in [int(x) for x in a.threads.split(",")]:
        torch.set_num_threads(t)
        for spec in a.shape:
            name, opa, opb = spec.split(":")
            m, n, k = (int(x) for x in re.search(r"(\d+)x(\d+)x(\d+)$", name).groups())
            A = torch.randn(k, m) if opa == "T" else torch.randn(m, k)
            B = torch.randn(n, k) if opb == "T" else torch.randn(k, n)
            opA = A.t() if opa == "T" else A
            opB = B.t() if opb == "T" else B
            C = torch.empty(m, n)
            torch.mm(opA, opB, out=C)
            calls, t0 = 0, time.perf_counter()
            while True:
                torch.mm(opA, opB, out=C)
                calls += 1
                el = time.perf_counter() - t0
                if el >= a.seconds:
                    break
            print(json.dumps({"threads": t, "shape": name, "gf_s": 2 * m * n * k * calls / el / 1e9, "calls": calls}), flush=True)


if __name__ == "__main__":
    main()
