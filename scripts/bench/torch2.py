#!/usr/bin/python3
"""Driver of `MODE=torch2 scripts/bench/run.sh`: sinktrain vs PyTorch 2.x
(pip's wheels, MKL) CPU training on the reference config, and sgemm of
OpenBLAS vs PyTorch's BLAS on the model's shapes, in one invocation.

Cells: threads T × batch B (default 2,16 × 8,32). In every round each cell
runs sinktrain and PyTorch once, alternating which goes first; a round also
runs sinktrain's other worker × thread splits of the 16-thread batch-8
cell. sinktrain runs with GOMAXPROCS=T and its default split (workers =
min(T, batch), T / workers threads each). Training tok/s is the median step of a run (steps 3.. of
`sinktrain pretrain`, the step that also evaluates left out; PyTorch's
steps after 2 warm-up steps); a cell's number is the median of its rounds.
Rounds stop early when the next one would pass --deadline seconds.

Prints a Markdown report and writes it, with every raw number
(torch2.json), to --out. Only the standard library is used.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import ROOT, fmt, gobench, med, params, run  # noqa: E402

# autograd.BenchmarkSgemm's shapes: NAME_MxNxK, op(A), op(B).
SHAPES = [("fc1_2048x1024x256", "N", "T"), ("head_2048x4096x256", "N", "T"), ("dW_1024x256x2048", "T", "N"),
          ("fc1row_256x1024x256", "N", "T"), ("sq_1024x1024x1024", "N", "N")]


def sinktrain_run(a, data, work, T, B, workers=0, blas=0):
    """One `sinktrain pretrain` run with GOMAXPROCS=T (workers and BLAS threads
    per worker: the trainer's defaults when 0); returns (median step tok/s,
    all step tok/s, rss MiB, the trainer's model/split log line)."""
    out = os.path.join(work, f"run-{T}-{B}-{workers}-{blas}")
    shutil.rmtree(out, ignore_errors=True)
    cmd = [os.path.join(a.bin, "sinktrain"), "pretrain", "--config", "reference", "--data", data, "--out", out,
           "--set", f"batch={B}", "--set", f"max_steps={a.steps}",
           "--set", "log_interval=1", "--set", "eval_interval=0", "--set", "checkpoint_interval=0",
           "--set", "eval_tokens=256"]
    if workers:
        cmd += ["--set", f"workers={workers}"]
    if blas:
        cmd += ["--set", f"blas_threads={blas}"]
    text, rss, _, rc = run(cmd, env={"GOMAXPROCS": str(T)}, timeout=180)
    steps = []
    try:
        with open(os.path.join(out, "metrics.jsonl")) as f:
            steps = [json.loads(line) for line in f if line.strip()]
    except OSError:
        pass
    shutil.rmtree(out, ignore_errors=True)
    # Step 1 and 2 allocate the graphs' buffers; the last step also evaluates.
    toks = [s["tok_s"] for s in steps if 3 <= s["step"] < a.steps]
    if rc != 0 or not toks:
        sys.stderr.write(f"torch2: sinktrain T={T} B={B} workers={workers} blas={blas} failed (exit {rc}):\n{text[-1500:]}\n")
        return 0.0, [], rss, text[-300:]
    split = next((ln for ln in text.splitlines() if " threads; " in ln and "model:" in ln), "")
    return statistics.median(toks), toks, rss, split


def torch_run(a, T, B, attn):
    """One PyTorch run; returns (median step tok/s, JSON, rss MiB)."""
    cmd = [a.torch_py, os.path.join(ROOT, "scripts/bench/torch_gptneox.py"), "--threads", str(T), "--batch", str(B),
           "--steps", str(a.steps - 2), "--warmup", "2", "--attn", attn]
    text, rss, _, rc = run(cmd, timeout=180)
    try:
        js = json.loads(text.strip().splitlines()[-1])
        return js["tok_s_median"], js, rss
    except (ValueError, IndexError, KeyError):
        sys.stderr.write(f"torch2: PyTorch T={T} B={B} {attn} failed (exit {rc}):\n{text[-1500:]}\n")
        return 0.0, {}, rss


def ratio_range(st, pt):
    """min/max of sinktrain/PyTorch over the rounds (pairs measured next to each other)."""
    rs = [s / p for s, p in zip(st, pt) if s and p]
    return (min(rs), max(rs)) if rs else (0, 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="folder with sinktrain and autograd.test")
    ap.add_argument("--torch-py", default="python3")
    ap.add_argument("--threads", default="2,16")
    ap.add_argument("--batches", default="8,32")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--deadline", type=float, default=330, help="seconds; no round starts that would end later")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    t0 = time.time()
    threads = [int(x) for x in a.threads.split(",")]
    batches = [int(x) for x in a.batches.split(",")]
    os.makedirs(a.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="sinktrain-torch2.")
    rep = {"threads": threads, "batches": batches, "steps": a.steps, "params": params()}
    lines = []

    def say(s=""):
        print(s, flush=True)
        lines.append(s)

    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), platform.processor())
    say(f"# sinktrain vs PyTorch, CPU training (reference config, {params():,} parameters)")
    say()
    say(f"machine: {cpu}, {os.cpu_count()} CPUs; load average {' '.join(open('/proc/loadavg').read().split()[:3])}")
    ver, _, _, _ = run([os.path.join(a.bin, "sinktrain"), "version"])
    rep["sinktrain_version"] = ver
    for ln in ver.splitlines():
        if ln.startswith(("sinktrain ", "blas:", "cpu:")) or "OPENBLAS" in ln:
            say(f"    {ln}")
    tv, _, _, _ = run([a.torch_py, "-c", "import torch; print(torch.__version__, 'MKL' if torch.backends.mkl.is_available() else 'no MKL', torch.get_num_threads())"])
    rep["torch_version"] = tv.strip()
    say(f"PyTorch: {tv.strip()} (version, BLAS, default threads)")
    has, _, _, _ = run([a.torch_py, "-c", "import torch.nn.functional as F; print(hasattr(F, 'scaled_dot_product_attention'))"])
    attn = "sdpa" if has.strip().endswith("True") else "eager"
    if attn == "sdpa":
        chk, _, _, _ = run([a.torch_py, os.path.join(ROOT, "scripts/bench/torch_gptneox.py"), "--check-attn"])
        say(f"PyTorch sdpa vs eager logits: {chk.strip().splitlines()[-1] if chk.strip() else 'n/a'}")
    else:
        say("PyTorch has no scaled_dot_product_attention (< 2.0): eager attention only")
    rep["torch_attn"] = attn
    data = os.path.join(work, "data")
    out, _, _, rc = run([os.path.join(a.bin, "sinktrain"), "prepare", "--out", data])
    if rc != 0:
        say(f"sinktrain prepare failed: {out[-500:]}")
        return 1

    cells = [(T, B) for T in threads for B in batches]
    splits = []  # (label, workers, BLAS threads) of the 16-thread batch-8 cell
    if 16 in threads and 8 in batches:
        splits = [("8 workers × 1 thread (8 cores idle)", 8, 1), ("8 workers × 2 threads (the default)", 8, 2),
                  ("4 workers × 4", 4, 4), ("2 workers × 8", 2, 8)]
    st = {c: [] for c in cells}
    pt = {c: [] for c in cells}
    pt_eager = {}
    sp = {s[0]: [] for s in splits}
    rss = {"sinktrain": [], "torch": []}
    split_line = {}
    rounds, last = 0, 0.0
    for r in range(a.rounds):
        if r > 0 and time.time() - t0 + last > a.deadline:
            say(f"(stopped after {r} rounds: another would pass the {a.deadline:.0f} s deadline)")
            break
        rs = time.time()
        for T, B in cells:
            order = ["st", "pt"] if (r + cells.index((T, B))) % 2 == 0 else ["pt", "st"]
            for what in order:
                if what == "st":
                    v, _, m, split = sinktrain_run(a, data, work, T, B)
                    st[(T, B)].append(v)
                    rss["sinktrain"].append(m)
                    split_line[(T, B)] = split
                else:
                    v, _, m = torch_run(a, T, B, attn)
                    pt[(T, B)].append(v)
                    rss["torch"].append(m)
            if r == 0 and attn != "eager":
                pt_eager[(T, B)] = torch_run(a, T, B, "eager")[0]
        for label, w, nb in splits:
            sp[label].append(sinktrain_run(a, data, work, 16, 8, w, nb)[0])
        rounds, last = r + 1, time.time() - rs
    rep["rounds"] = rounds

    say()
    say(f"## Training tok/s (median step of each run; median of {rounds} alternating rounds, runs in brackets)")
    say()
    say(f"| threads | batch | sinktrain | PyTorch ({attn}) | sinktrain / PyTorch, medians | per round | PyTorch eager (round 1) |")
    say("|---:|---:|---:|---:|---:|---:|---:|")
    rep["cells"] = []
    for T, B in cells:
        s, p = med(st[(T, B)]), med(pt[(T, B)])
        lo, hi = ratio_range(st[(T, B)], pt[(T, B)])
        runs_s = ", ".join(fmt(x) for x in st[(T, B)])
        runs_p = ", ".join(fmt(x) for x in pt[(T, B)])
        ratio = f"{s / p:.2f}×" if s and p else "n/a"
        say(f"| {T} | {B} | {fmt(s)} [{runs_s}] | {fmt(p)} [{runs_p}] | {ratio} | {lo:.2f}–{hi:.2f}× | {fmt(pt_eager.get((T, B), 0))} |")
        rep["cells"].append({"threads": T, "batch": B, "sinktrain": st[(T, B)], "torch_sdpa": pt[(T, B)],
                             "torch_eager": pt_eager.get((T, B)), "split": split_line.get((T, B), "")})
    say()
    for (T, B), ln in split_line.items():
        say(f"- {T} threads, batch {B}: `{ln.strip()}`")
    if splits:
        say()
        say("## Worker × BLAS-thread splits, 16 threads, batch 8 (sinktrain)")
        say()
        say("| split | tok/s (median; runs) |")
        say("|---|---:|")
        for label, _, _ in splits:
            say(f"| {label} | {fmt(med(sp[label]))} [{', '.join(fmt(x) for x in sp[label])}] |")
        rep["splits"] = sp

    # ---- sgemm: OpenBLAS (autograd.BenchmarkSgemm) vs PyTorch on the same shapes ----
    maxT = max(threads)
    res, _, _ = gobench(os.path.join(a.bin, "autograd.test"), "BenchmarkSgemm", "0.3s", {"GOMAXPROCS": str(maxT)},
                        os.path.join(ROOT, "autograd"))
    ob = {}
    for k, x in res.items():
        parts = k.split("/")
        if len(parts) == 3:
            ob[(int(parts[1].split("=")[1]), parts[2])] = x.get("GF/s", 0)
    tcounts = sorted({1} | set(threads))
    text, _, _, _ = run([a.torch_py, os.path.join(ROOT, "scripts/bench/torch_sgemm.py"), "--threads", ",".join(map(str, tcounts)),
                         "--seconds", "0.3"] + sum((["--shape", f"{n}:{x}:{y}"] for n, x, y in SHAPES), []), timeout=240)
    tb = {}
    for ln in text.splitlines():
        try:
            js = json.loads(ln)
            tb[(js["threads"], js["shape"])] = js["gf_s"]
        except (ValueError, KeyError):
            pass
    say()
    say("## sgemm GF/s on the model's shapes (C = op(A)·op(B), m×n×k)")
    say()
    say("| threads | shape | OpenBLAS | PyTorch | PyTorch / OpenBLAS |")
    say("|---:|---|---:|---:|---:|")
    for t in tcounts:
        for n, _, _ in SHAPES:
            o, q = ob.get((t, n), 0), tb.get((t, n), 0)
            if o or q:
                say(f"| {t} | {n} | {fmt(o)} | {fmt(q)} | {q / o:.2f}× |" if o and q else f"| {t} | {n} | {fmt(o)} | {fmt(q)} | n/a |")
    rep["sgemm"] = {"openblas": {f"{t}/{n}": v for (t, n), v in ob.items()}, "torch": {f"{t}/{n}": v for (t, n), v in tb.items()}}
    say()
    say(f"peak RSS, median: sinktrain {med(rss['sinktrain']):.0f} MiB, PyTorch {med(rss['torch']):.0f} MiB; "
        f"whole run {time.time() - t0:.0f} s. The machine may be shared: compare only numbers of this run.")
    with open(os.path.join(a.out, "torch2.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(a.out, "torch2.json"), "w") as f:
        json.dump(rep, f, indent=1)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
