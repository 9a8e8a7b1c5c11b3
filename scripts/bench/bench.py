#!/usr/bin/python3
"""Driver of scripts/bench/run.sh: runs the prebuilt Go test binaries and
the PyTorch reference, alternating, and prints one table.

Every number comes from this invocation; ratios compare rows measured in
the same run. Each child's peak RSS is read with os.wait4 (ru_maxrss of that
process alone). Only the standard library is used.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# The reference config (issue 8): d=256, 4 layers, 4 heads, T=256, V=4096, B=8.
D, L, H, T, V, B, FFN = 256, 4, 4, 256, 4096, 8, 1024


def params():
    layer = 2 * 2 * D + (3 * D * D + 3 * D) + (D * D + D) + (FFN * D + FFN) + (D * FFN + D)
    return 2 * V * D + L * layer + 2 * D


def flops_per_token():
    """model.TrainFLOPsPerToken: 6·P + 12·L·T·d (full-square attention)."""
    return 6 * params() + 12 * L * T * D


# Its Llama twin (configs/reference-llama.json): 2 kv heads, SwiGLU width 688, untied.
KV, FFN_LLAMA = 2, 688


def params_llama():
    hd = D // H
    layer = 2 * D + (H * hd * D) + 2 * (KV * hd * D) + (D * H * hd) + 3 * FFN_LLAMA * D
    return 2 * V * D + L * layer + D


def flops_per_token_llama():
    return 6 * params_llama() + 12 * L * T * D


def run(cmd, env=None, cwd=ROOT, timeout=600):
    """Runs cmd; returns (output, peak RSS MiB, seconds, exit code)."""
    e = dict(os.environ)
    e.update(env or {})
    with tempfile.TemporaryFile(mode="w+") as out:
        t0 = time.time()
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=e, cwd=cwd)
        rc, ru = None, None
        deadline = t0 + timeout
        while rc is None:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                rc = os.waitstatus_to_exitcode(status)
                break
            if time.time() > deadline:
                p.kill()
                _, status, ru = os.wait4(p.pid, 0)
                rc = -9
                break
            time.sleep(0.05)
        p.returncode = rc
        out.seek(0)
        return out.read(), ru.ru_maxrss / 1024.0, time.time() - t0, rc


def print_rows(rows, notes, value_width):
    """Prints (section, row, value, note) rows grouped by section, then notes."""
    w = max(len(r[1]) for r in rows)
    sec = None
    for s, n, v, note in rows:
        if s != sec:
            print(f"\n[{s}]")
            sec = s
        print(f"  {n:<{w}}  {v:>{value_width}}  {note}")
    if notes:
        print("\nnotes:")
        for n in notes:
            print("  - " + n)


BENCH = re.compile(r"^(Benchmark\S+?)(?:-\d+)?\s+(\d+)\s+(.*)$")


def gobench(binary, pattern, benchtime, env=None, pkgdir=None, count=1, timeout=600):
    """Runs a Go test binary's benchmarks; returns ({name: {unit: value}}, rss, out).
    With count > 1 (-test.count repeats) each unit keeps its best
    value: the least ns/op, the most of a rate."""
    if not os.path.exists(binary):
        return {}, 0, f"{binary} missing"
    cmd = [binary, "-test.run", "^$", "-test.bench", pattern, "-test.benchtime", benchtime, "-test.count", str(count)]
    out, rss, _, rc = run(cmd, env=env, cwd=pkgdir or ROOT, timeout=timeout)
    res = {}
    for line in out.splitlines():
        m = BENCH.match(line.strip())
        if not m:
            continue
        vals = {"iters": float(m.group(2))}
        f = m.group(3).split()
        for i in range(0, len(f) - 1, 2):
            try:
                vals[f[i + 1]] = float(f[i])
            except ValueError:
                pass
        old = res.get(m.group(1))
        if old:
            for u, x in vals.items():
                better = min if u.startswith("ns/") or u.startswith("B/") else max
                vals[u] = better(x, old.get(u, x))
        res[m.group(1)] = vals
    if rc != 0 and not res:
        sys.stderr.write(f"bench: {os.path.basename(binary)} {pattern} failed (exit {rc}):\n{out[-2000:]}\n")
    return res, rss, out


def med(xs):
    xs = [x for x in xs if x]
    return statistics.median(xs) if xs else 0.0


def fmt(x, unit=""):
    if not x:
        return "n/a"
    if x >= 100:
        return f"{x:,.0f}{unit}"
    if x >= 1:
        return f"{x:.2f}{unit}"
    return f"{x:.3g}{unit}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="folder with the built *.test binaries")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--torch", default="yes", help="'no' skips PyTorch (with the reason printed)")
    ap.add_argument("--before", default="", help="model.test of the pre-optimisation commit")
    ap.add_argument("--hf-python", default="", help="a python with transformers for the SmolLM decode row ('' skips it)")
    a = ap.parse_args()
    thr = str(a.threads)
    genv = {"GOMAXPROCS": thr}
    # Package of each row group; a binary is named after its package with "/"
    # as "_". The float32 kernels' benchmarks (exp, GELU) are in
    # internal/kernels, or in autograd in trees from before it existed.
    pkgs = {"autograd": "autograd", "kernels": "internal/kernels", "model": "model/graph", "train": "train",
            "infer": "infer", "tokenizer": "data/tokenizer", "shard": "data/shard"}
    if not os.path.exists(os.path.join(a.bin, "internal_kernels.test")):
        pkgs["kernels"] = "autograd"
    bins = {n: os.path.join(a.bin, p.replace("/", "_") + ".test") for n, p in pkgs.items()}
    pkg = {n: os.path.join(ROOT, p) for n, p in pkgs.items()}
    rows = []  # (section, name, value, ratio/notes)
    notes = []

    # ---- training, alternating rounds ----
    train_out = run([bins["train"], "-test.list", "BenchmarkTrainReference"], cwd=pkg["train"])[0] if os.path.exists(bins["train"]) else ""
    use_train = "BenchmarkTrainReference" in train_out
    if use_train:
        st_what = f"train.BenchmarkTrainReference workers={thr} (graph per core, AdamW step, clip), OPENBLAS_NUM_THREADS=1"
    else:
        st_what = f"model.BenchmarkStepPar ({thr} graphs, 1 BLAS thread each) — no AdamW (train benchmark not built)"
    torch_ok = a.torch == "yes"
    st, pt, sg1, sg2, st_rss, pt_rss = [], [], [], [], [], []
    stl, ptl, stl_rss, ptl_rss = [], [], [], []  # the Llama reference twin
    use_llama = use_train and "BenchmarkTrainReferenceLlama" in train_out
    torch_err = "" if torch_ok else a.torch
    for r in range(a.rounds):
        order = ["st", "pt", "sg"] if r % 2 == 0 else ["pt", "st", "sg"]
        if use_llama:
            order += ["stl", "ptl"] if r % 2 == 0 else ["ptl", "stl"]
        for what in order:
            if what == "stl":
                env = dict(genv, OPENBLAS_NUM_THREADS="1")
                res, rss, _ = gobench(bins["train"], f"BenchmarkTrainReferenceLlama/workers={thr}$", "4x", env, pkg["train"])
                stl.append(next((x.get("tok/s", 0) for x in res.values()), 0))
                stl_rss.append(rss)
                continue
            if what == "ptl":
                if not torch_ok:
                    continue
                out, rss, _, rc = run(["/usr/bin/python3", os.path.join(ROOT, "scripts/bench/torch_llama.py"),
                                       "--threads", thr, "--steps", "4"], timeout=300)
                try:
                    js = json.loads(out.strip().splitlines()[-1])
                    ptl.append(js["tok_s"])
                    ptl_rss.append(rss)
                    if js["params"] != params_llama():
                        notes.append(f"PyTorch Llama twin has {js['params']} parameters, sinktrain {params_llama()}")
                except (ValueError, IndexError, KeyError):
                    notes.append("PyTorch Llama run failed: " + out.strip()[-300:])
                continue
            if what == "st":
                env = dict(genv, OPENBLAS_NUM_THREADS="1")
                if use_train:
                    res, rss, _ = gobench(bins["train"], f"BenchmarkTrainReference/workers={thr}$", "4x", env, pkg["train"])
                else:
                    res, rss, _ = gobench(bins["model"], "BenchmarkStepPar$", "4x", env, pkg["model"])
                v = next((x.get("tok/s", 0) for x in res.values()), 0)
                st.append(v)
                st_rss.append(rss)
            elif what == "pt" and torch_ok:
                out, rss, _, rc = run(["/usr/bin/python3", os.path.join(ROOT, "scripts/bench/torch_gptneox.py"),
                                       "--threads", thr, "--steps", "4"], timeout=300)
                try:
                    js = json.loads(out.strip().splitlines()[-1])
                    pt.append(js["tok_s"])
                    pt_rss.append(rss)
                    if js["params"] != params():
                        notes.append(f"PyTorch model has {js['params']} parameters, sinktrain {params()}")
                except (ValueError, IndexError, KeyError):
                    torch_ok, torch_err = False, "PyTorch run failed: " + out.strip()[-300:]
            elif what == "sg":
                res, _, _ = gobench(bins["autograd"], "BenchmarkSgemm/^threads=[12]$/^fc1_2048", "10x", genv, pkg["autograd"])
                for k, x in res.items():
                    (sg1 if "threads=1" in k else sg2).append(x.get("GF/s", 0))
    fpt = flops_per_token()
    st_tok, pt_tok = med(st), med(pt)
    st_best, pt_best = max(st, default=0), max(pt, default=0)
    st_gf = st_tok * fpt / 1e9
    sgemm2, sgemm1 = med(sg2), med(sg1)
    rows.append(("training", f"sinktrain tok/s (median of {len(st)}; runs: {', '.join(fmt(x) for x in st)})", fmt(st_tok), ""))
    if torch_ok and pt:
        rows.append(("training", f"PyTorch {thr}-thread tok/s (median of {len(pt)}; runs: {', '.join(fmt(x) for x in pt)})", fmt(pt_tok), ""))
        rows.append(("training", "sinktrain / PyTorch, medians (target ≥ 2)", f"{st_tok / pt_tok:.2f}×", "PASS" if st_tok >= 2 * pt_tok else "MISS"))
        rows.append(("training", f"sinktrain / PyTorch, best runs ({fmt(st_best)} / {fmt(pt_best)})", f"{st_best / pt_best:.2f}×", "PASS" if st_best >= 2 * pt_best else "MISS"))
        rows.append(("training", "peak RSS sinktrain / PyTorch", f"{med(st_rss):.0f} / {med(pt_rss):.0f} MiB", ""))
    else:
        rows.append(("training", "PyTorch", "n/a", torch_err or "not run"))
        rows.append(("training", "peak RSS sinktrain", f"{med(st_rss):.0f} MiB", ""))
    rows.append(("training", f"FLOPs/token (6·P + 12·L·T·d, P = {params():,})", f"{fpt / 1e6:.1f} MF", ""))
    rows.append(("training", "achieved GF/s of the training step, median / best run", f"{fmt(st_gf)} / {fmt(st_best * fpt / 1e9)}", ""))
    rows.append(("training", f"sgemm GF/s 2048×1024×256, {thr} threads, median / best", f"{fmt(sgemm2)} / {fmt(max(sg2, default=0))}", ""))
    rows.append(("training", "sgemm GF/s 2048×1024×256, 1 thread, median / best", f"{fmt(sgemm1)} / {fmt(max(sg1, default=0))}", ""))
    # The machine's sgemm rate: the better of the multi-threaded call and
    # threads × the single-threaded call (each graph runs 1 BLAS thread).
    peak_med = max(sgemm2, a.threads * sgemm1)
    peak_best = max(max(sg2, default=0), a.threads * max(sg1, default=0))
    if peak_med and peak_best:
        m1, m2 = st_gf / peak_med, st_best * fpt / 1e9 / peak_best
        rows.append(("training", f"MFU = step GF/s / max({thr}-thread sgemm, {thr}×1-thread sgemm), medians (target ≥ 50%)", f"{100 * m1:.0f}%", "PASS" if m1 >= 0.5 else "MISS"))
        rows.append(("training", "MFU, best runs", f"{100 * m2:.0f}%", "PASS" if m2 >= 0.5 else "MISS"))
    notes.append("sinktrain training row: " + st_what)

    # ---- the Llama reference twin, measured in the same rounds ----
    if use_llama:
        sec = "training, Llama reference twin (reference-llama: GQA 4/2 heads, SwiGLU 688, RMSNorm, full RoPE)"
        stl_tok, ptl_tok = med(stl), med(ptl)
        rows.append((sec, f"sinktrain tok/s (median of {len(stl)}; runs: {', '.join(fmt(x) for x in stl)})", fmt(stl_tok), ""))
        if ptl:
            rows.append((sec, f"PyTorch {thr}-thread tok/s (median of {len(ptl)}; runs: {', '.join(fmt(x) for x in ptl)})", fmt(ptl_tok), ""))
            rows.append((sec, "sinktrain / PyTorch, medians", f"{stl_tok / ptl_tok:.2f}×" if ptl_tok else "n/a", ""))
            rows.append((sec, "peak RSS sinktrain / PyTorch", f"{med(stl_rss):.0f} / {med(ptl_rss):.0f} MiB", ""))
        else:
            rows.append((sec, "PyTorch", "n/a", torch_err or "not run"))
        if st_tok and stl_tok:
            rows.append((sec, "Llama twin / GPT-NeoX reference, sinktrain tok/s (medians)", f"{stl_tok / st_tok:.2f}×", ""))
        if pt_tok and ptl_tok:
            rows.append((sec, "Llama twin / GPT-NeoX reference, PyTorch tok/s (medians)", f"{ptl_tok / pt_tok:.2f}×", ""))
        fl = flops_per_token_llama()
        rows.append((sec, f"FLOPs/token (P = {params_llama():,}), achieved GF/s (median)", f"{fl / 1e6:.1f} MF, {fmt(stl_tok * fl / 1e9)}", ""))
        if peak_med:
            rows.append((sec, "MFU (as above), median", f"{100 * stl_tok * fl / 1e9 / peak_med:.0f}%", ""))
    elif use_train:
        notes.append("train.BenchmarkTrainReferenceLlama is not in this tree: no Llama rows")

    # ---- step variants (the optimisation ladder), one run each ----
    ladder = []
    if a.before and os.path.exists(a.before):
        res, _, _ = gobench(a.before, "BenchmarkStep$", "3x", genv, pkg["model"], count=2)
        ladder.append(("before (commit 58df0fd): fused ops, 1 graph, OpenBLAS default threads", next((x.get("tok/s", 0) for x in res.values()), 0)))
    res, _, _ = gobench(bins["model"], "BenchmarkStep(Stock)?$", "3x", genv, pkg["model"], count=2)
    for k, x in sorted(res.items()):
        name = "stock gorgonia ops (exact-erf GELU from elementwise ops), 1 graph" if "Stock" in k else f"now: fused ops, 1 graph, {thr} BLAS threads"
        ladder.append((name, x.get("tok/s", 0)))
    res, _, _ = gobench(bins["model"], "BenchmarkStepPar$", "4x", dict(genv, OPENBLAS_NUM_THREADS="1"), pkg["model"], count=2)
    for x in res.values():
        ladder.append((f"now: {thr} graphs (one per core), 1 BLAS thread each", x.get("tok/s", 0)))
    base = next((v for n, v in ladder if n.startswith("stock")), 0)
    for n, v in ladder:
        rows.append(("fwd+bwd step, no optimizer (best of 2)", n, fmt(v) + " tok/s", f"{v / base:.2f}× stock" if base and v else ""))
    res, _, _ = gobench(bins["kernels"], "BenchmarkExp32|BenchmarkGELU", "20x", genv, pkg["kernels"], count=3)
    e32, e64 = res.get("BenchmarkExp32/exp32", {}).get("ns/op"), res.get("BenchmarkExp32/math.Exp", {}).get("ns/op")
    if e32 and e64:
        rows.append(("kernels", "exp32 vs math.Exp (4096 values)", f"{e32 / 4096:.2f} vs {e64 / 4096:.2f} ns/value", f"{e64 / e32:.2f}×"))
    g32, g64 = res.get("BenchmarkGELU/normal32", {}).get("ns/op"), res.get("BenchmarkGELU/table64", {}).get("ns/op")
    if g32 and g64:
        rows.append(("kernels", "GELU fwd 2048×1024: normal32 vs erf table", f"{g32 / 1e6:.1f} vs {g64 / 1e6:.1f} ms", f"{g64 / g32:.2f}×"))

    # ---- streaming decode: one process per sub-benchmark (its own peak RSS) ----
    dec = {}
    for spec in ["4+252", "4+1020", "recompute:256", "recompute:1024"]:
        res, rss, _ = gobench(bins["infer"], "BenchmarkDecode/" + re.escape(spec) + "$", "1s", genv, pkg["infer"])
        for k, x in res.items():
            dec[spec] = x.get("ns/op", 0)
            rows.append(("decode", f"{spec} per token", fmt(dec[spec] / 1e6, " ms"), f"peak RSS {rss:.0f} MiB"))
    if dec.get("4+1020") and dec.get("recompute:1024"):
        r = dec["recompute:1024"] / dec["4+1020"]
        rows.append(("decode", "recompute:1024 / 4+1020 (target ≥ 22)", f"{r:.1f}×", "PASS" if r >= 22 else "MISS"))
    listing = run([bins["infer"], "-test.list", "BenchmarkDecodePosition"], cwd=pkg["infer"])[0] if os.path.exists(bins["infer"]) else ""
    if "BenchmarkDecodePosition" in listing:
        # Each position's session really streams its tokens first (100K: about
        # 100 s of one core); the timed steps alternate between the sessions.
        res, rss, _ = gobench(bins["infer"], "BenchmarkDecodePosition$", "2s", genv, pkg["infer"], timeout=900)
        for x in res.values():
            pos = sorted(int(u.split("@")[1]) for u in x if u.startswith("ms/token@"))
            for p in pos:
                rows.append(("decode", f"4+252 after {p:,} streamed tokens", fmt(x[f"ms/token@{p}"], " ms"), f"peak RSS {rss:.0f} MiB (both sessions, one process)"))
            if len(pos) > 1 and x.get("ratio"):
                r = x["ratio"]
                rows.append(("decode", f"position {pos[-1]:,} vs {pos[0]:,}, steps alternating (target within 10%)", f"{100 * (r - 1):+.1f}%", "PASS" if abs(r - 1) <= 0.10 else "MISS"))

    # ---- llama decode: SmolLM-135M shapes, 4+1020, vs transformers on CPU ----
    listing = run([bins["infer"], "-test.list", "BenchmarkSmolLM"], cwd=pkg["infer"])[0] if os.path.exists(bins["infer"]) else ""
    if "BenchmarkSmolLM" in listing:
        go = {}
        for sub, unit in [("decode/4\\+1020", "ms/token"), ("prefill/1024", "tok/s")]:
            res, rss, _ = gobench(bins["infer"], "BenchmarkSmolLM/" + sub + "$", "3s", genv, pkg["infer"])
            for k, x in res.items():
                go[unit] = x.get(unit, 0)
                rows.append(("llama (SmolLM-135M shapes, random, float32)", f"sinktrain {'decode 4+1020' if unit == 'ms/token' else 'prefill 1024 tokens'}",
                             fmt(go[unit], " " + unit), f"peak RSS {rss:.0f} MiB"))
        if a.hf_python:
            out, rss, _, rc = run([a.hf_python, os.path.join(ROOT, "scripts/bench/hf_decode.py"), "--threads", thr],
                                  env={"OMP_NUM_THREADS": thr, "MKL_NUM_THREADS": thr}, timeout=1200)
            hf = None
            for line in out.splitlines():
                if line.startswith("{"):
                    hf = json.loads(line)
            if rc == 0 and hf:
                sec = "llama (SmolLM-135M shapes, random, float32)"
                rows.append((sec, f"transformers {hf['transformers']} decode, {hf['cache_kind']}", fmt(hf["decode_ms_per_token"], " ms/token"), f"peak RSS {rss:.0f} MiB"))
                rows.append((sec, f"transformers prefill {hf['prefill_tokens']} tokens", fmt(hf["prefill_tok_s"], " tok/s"), ""))
                if go.get("ms/token"):
                    r = hf["decode_ms_per_token"] / go["ms/token"]
                    rows.append((sec, "decode speed-up vs transformers (target ≥ 2)", f"{r:.2f}×", "PASS" if r >= 2 else "MISS"))
                if go.get("tok/s"):
                    rows.append((sec, "prefill speed-up vs transformers", f"{go['tok/s'] / hf['prefill_tok_s']:.2f}×", ""))
            else:
                notes.append("hf_decode.py failed: " + out.strip()[-300:])
        else:
            notes.append("transformers row skipped: no python with transformers (set HF_PYTHON)")

    # ---- tokenizer and shards: one process per row ----
    listing = run([bins["tokenizer"], "-test.list", "Benchmark.*"], cwd=pkg["tokenizer"])[0] if os.path.exists(bins["tokenizer"]) else ""
    if "BenchmarkEncode" in listing:
        # Held-out Moby-Dick, tokenizer trained on corpus/train (scripts/get-corpus.sh).
        names = ["sinktrain-trained4096", "sinktrain-trained4096-nocache", "tiktoken-r50k_base", "tiktoken-cl100k_base"]
        mbs = {}
        for n in names:
            res, rss, out = gobench(bins["tokenizer"], "BenchmarkEncode/" + n + "$", "1s", genv, pkg["tokenizer"])
            for k, x in res.items():
                mbs[n] = x.get("MB/s", 0)
                rows.append(("tokenizer", f"encode Moby-Dick, {n}", fmt(mbs[n], " MB/s"), f"peak RSS {rss:.0f} MiB"))
            if not res:
                rows.append(("tokenizer", f"encode {n}", "n/a", out.strip().splitlines()[-1][:120] if out.strip() else "no output"))
        on, off = mbs.get("sinktrain-trained4096", 0), mbs.get("sinktrain-trained4096-nocache", 0)
        if on and off:
            rows.append(("tokenizer", "word cache on / off", f"{on / off:.1f}×", ""))
        best_tk = max(mbs.get("tiktoken-r50k_base", 0), mbs.get("tiktoken-cl100k_base", 0))
        if on and best_tk:
            rows.append(("tokenizer", "sinktrain / best tiktoken-go MB/s (target ≥ 1)", f"{on / best_tk:.1f}×", "PASS" if on >= best_tk else "MISS"))
        notes.append("tokenizer: held-out corpus/eval/melville-moby_dick.txt (CRLF as LF), sinktrain's 4096-token BPE trained on corpus/train; "
                     "peak RSS includes that training")
    listing = run([bins["shard"], "-test.list", "Benchmark.*"], cwd=pkg["shard"])[0] if os.path.exists(bins["shard"]) else ""
    if "BenchmarkShardRead" in listing:
        res, rss, _ = gobench(bins["shard"], "BenchmarkShardRead$", "1s", genv, pkg["shard"])
        for k, x in res.items():
            g = x.get("MB/s", 0) / 1000
            rows.append(("shards", "shard read (mmap, page cache)", fmt(g, " GB/s"), f"peak RSS {rss:.0f} MiB; target ≥ 1 GB/s: {'PASS' if g >= 1 else 'MISS'}"))

    print_rows(rows, notes, 18)


if __name__ == "__main__":
    main()
