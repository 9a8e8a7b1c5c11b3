#!/usr/bin/python3
"""Issue 16's benchmarks (docs/PERFORMANCE.md), run by scripts/bench/run.sh:

1. streaming perplexity, chunked vs token by token (infer.BenchmarkScore),
   reference model (d=256) and a random Pythia-160M-shaped model (d=768,
   12 layers, vocab 50304), caches 4+252 and 4+1020;
2. prefill and decode (batch 1) of the same two models, float32 and
   bfloat16 weights, next to llama.cpp's llama-bench on the same weights
   converted to GGUF (scripts/bench/to_gguf.py) at the same precision and
   thread count (-t THREADS -p 512 -n 128; llama.cpp's KV cache in float16, its
   default: llama-bench accepts no float32 cache type, sinktrain's is float32).

Rounds alternate the two sides, and each row is the median over rounds, so
the load of a shared machine falls on both. llama.cpp is not part of this
repository: pass a built tree with --llama-cpp (its build/bin/llama-bench and
gguf-py/); without one the llama.cpp rows are skipped and say so.
"""
import argparse
import json
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import ROOT, fmt, gobench, med, print_rows, run  # noqa: E402


def llama_bench(exe, gguf, thr, reps):
    out, rss, _, rc = run([exe, "-m", gguf, "-t", thr, "-p", "512", "-n", "128", "-r", str(reps), "-o", "json"], timeout=1800)
    try:
        js = json.loads(out[out.index("["):])
    except ValueError:
        sys.stderr.write(f"engine: llama-bench failed (exit {rc}): {out[-500:]}\n")
        return None, None, rss
    pp = next((r["avg_ts"] for r in js if r["n_prompt"] > 0), None)
    tg = next((r["avg_ts"] for r in js if r["n_gen"] > 0), None)
    return pp, tg, rss


def ours(exe, model, dtype, thr, reps):
    out, rss, _, rc = run([exe, "bench", "--model", model, "--dtype", dtype, "-p", "512", "-n", "128", "-r", str(reps)], env={"GOMAXPROCS": thr}, timeout=1800)
    for line in out.splitlines():
        if line.startswith("{"):
            js = json.loads(line)
            return js["pp_tok_s"], js["tg_tok_s"], rss
    sys.stderr.write(f"engine: engine bench failed (exit {rc}): {out[-500:]}\n")
    return None, None, rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="folder with infer.test and the engine binary")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--llama-cpp", default="", help="a built llama.cpp tree ('' skips the llama.cpp rows)")
    ap.add_argument("--tokenizer", default=os.path.join(ROOT, "testdata/fixtures/tokenizer/tokenizer.json"))
    a = ap.parse_args()
    thr = str(a.threads)
    genv = {"GOMAXPROCS": thr}
    infer_test, engine = os.path.join(a.bin, "infer.test"), os.path.join(a.bin, "engine")
    pkg = os.path.join(ROOT, "infer")
    rows, notes = [], []

    # ---- 1. scoring: chunked vs token by token, alternating ----
    score = {}
    for r in range(a.rounds):
        for model in ["ref", "pythia160m"]:
            for spec in ["4+252", "4+1020"]:
                for kind in (["chunked", "steps"] if r % 2 == 0 else ["steps", "chunked"]):
                    bt = "1x" if kind == "chunked" else ("400x" if model == "ref" else "40x")
                    name = f"BenchmarkScore/{model}/{re.escape(spec)}/{kind}$"
                    res, rss, _ = gobench(infer_test, name, bt, genv, pkg)
                    for x in res.values():
                        score.setdefault((model, spec, kind), []).append(x.get("tok/s", 0))
                        score.setdefault((model, spec, kind, "rss"), []).append(rss)
    for model, label in [("ref", "reference d=256"), ("pythia160m", "Pythia-160M shape d=768")]:
        sec = f"streaming perplexity, {label}, {thr} threads (tok/s, median of {a.rounds})"
        for spec in ["4+252", "4+1020"]:
            c, s = med(score.get((model, spec, "chunked"), [])), med(score.get((model, spec, "steps"), []))
            rows.append((sec, f"{spec} chunked (runs {', '.join(fmt(x) for x in score.get((model, spec, 'chunked'), []))})", fmt(c), f"peak RSS {med(score.get((model, spec, 'chunked', 'rss'), [])):.0f} MiB"))
            rows.append((sec, f"{spec} token by token (runs {', '.join(fmt(x) for x in score.get((model, spec, 'steps'), []))})", fmt(s), ""))
            if c and s:
                rows.append((sec, f"{spec} chunked / token by token (aim ≥ 10)", f"{c / s:.1f}×", "PASS" if c >= 10 * s else "MISS"))
            if model == "ref" and spec == "4+1020" and c:
                mins = 4e6 / c / 60
                rows.append((sec, "4M tokens under 4+1020 at this rate (aim ≤ 10 min)", f"{mins:.1f} min", "PASS" if mins <= 10 else "MISS"))

    # ---- 2. prefill and decode vs llama.cpp ----
    llama = ""
    if a.llama_cpp:
        llama = os.path.join(a.llama_cpp, "build", "bin", "llama-bench")
        if not os.path.exists(llama):
            notes.append(f"{llama} missing: llama.cpp rows skipped")
            llama = ""
    else:
        notes.append("no --llama-cpp (LLAMA_CPP for run.sh): llama.cpp rows skipped")
    work = tempfile.mkdtemp(prefix="sinktrain-engine-")
    models = {}
    for shape in ["ref", "pythia160m"]:
        d = os.path.join(work, shape)
        args = [engine, "model", "--shape", shape, "--out", d]
        if shape == "ref":
            args += ["--tokenizer", a.tokenizer]
        run(args)
        models[shape] = d
        if llama:
            for dt in ["f32", "bf16"]:
                out, _, _, rc = run(["/usr/bin/python3", os.path.join(ROOT, "scripts/bench/to_gguf.py"), d, f"{d}-{dt}.gguf", "--dtype", dt],
                                    env={"PYTHONPATH": os.path.join(a.llama_cpp, "gguf-py")})
                if rc != 0:
                    notes.append(f"to_gguf.py failed for {shape} {dt}: {out.strip()[-200:]}")
    dec = {}
    for r in range(a.rounds):
        for shape in ["ref", "pythia160m"]:
            for dt, ours_dt in [("f32", "float32"), ("bf16", "bfloat16")]:
                sides = ["ours", "llama"] if r % 2 == 0 else ["llama", "ours"]
                for side in sides:
                    if side == "ours":
                        pp, tg, rss = ours(engine, models[shape], ours_dt, thr, 3)
                    elif llama and os.path.exists(f"{models[shape]}-{dt}.gguf"):
                        pp, tg, rss = llama_bench(llama, f"{models[shape]}-{dt}.gguf", thr, 3)
                    else:
                        continue
                    for k, v in [("pp", pp), ("tg", tg), ("rss", rss)]:
                        if v:
                            dec.setdefault((shape, dt, side, k), []).append(v)
    for shape, label in [("ref", "reference d=256"), ("pythia160m", "Pythia-160M shape d=768")]:
        for dt in ["f32", "bf16"]:
            sec = f"prefill 512 / decode 128 (llama-bench -p 512 -n 128 -t {thr}), {label}, {dt} weights (llama.cpp: KV cache f16, its default), median of {a.rounds} rounds"
            g = lambda side, k: med(dec.get((shape, dt, side, k), []))
            for k, what in [("pp", "prefill tok/s"), ("tg", "decode tok/s")]:
                o, l = g("ours", k), g("llama", k)
                runs = ", ".join(fmt(x) for x in dec.get((shape, dt, "ours", k), []))
                rows.append((sec, f"sinktrain {what} (runs {runs})", fmt(o), f"peak RSS {g('ours', 'rss'):.0f} MiB" if k == "pp" else (f"{1000 / o:.2f} ms/token" if o else "")))
                if l:
                    runs = ", ".join(fmt(x) for x in dec.get((shape, dt, "llama", k), []))
                    rows.append((sec, f"llama.cpp {what} (runs {runs})", fmt(l), f"peak RSS {g('llama', 'rss'):.0f} MiB" if k == "pp" else f"{1000 / l:.2f} ms/token"))
                    aim = 1.0 if k == "pp" else 0.9
                    rows.append((sec, f"sinktrain / llama.cpp {what} (aim ≥ {aim})", f"{o / l:.2f}×", "PASS" if o >= aim * l else "MISS"))
    print_rows(rows, notes, 12)


if __name__ == "__main__":
    main()
