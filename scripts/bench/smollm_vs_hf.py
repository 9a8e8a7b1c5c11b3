#!/usr/bin/env python3
"""Issue 15's speed row, on one machine in one run: decode ms/token (4+1020)
and prefill tok/s (1024 tokens) of a randomly initialised model of
SmolLM-135M's shapes (batch 1), sinktrain's engine (infer.BenchmarkSmolLM)
against Hugging Face transformers on CPU (hf_decode.py), float32 on both
sides and bfloat16 on both sides, the same thread count, alternating
rounds so that the machine's drift falls on both.

    python3 scripts/bench/smollm_vs_hf.py --bin DIR [--threads 2] [--rounds 3] [--out DIR]

DIR holds infer.test (go test -c ./infer); the run needs python3 with torch
and transformers (the GPU machine's). Prints a Markdown table (medians of
the rounds, every round's value beside it) and writes smollm.md and
smollm.json under --out.
"""
import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import ROOT, gobench, run  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="directory with infer.test")
    ap.add_argument("--threads", default="2")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--hf-python", default=sys.executable)
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    infer_test = os.path.join(a.bin, "infer.test")
    if not os.path.exists(infer_test):
        sys.exit(f"smollm: {infer_test} missing (go test -c -o {infer_test} ./infer)")
    thr = a.threads
    ours = {"ms/token": [], "bf16 ms/token": [], "tok/s": [], "bf16 tok/s": []}
    hf = {"ms/token": [], "tok/s": [], "bf16 ms/token": [], "bf16 tok/s": []}
    raw, version = [], ""
    for r in range(a.rounds):
        for side in (["ours", "hf"] if r % 2 == 0 else ["hf", "ours"]):
            if side == "ours":
                for sub, unit, key in [("decode/4\\+1020", "ms/token", "ms/token"), ("decode-bf16/4\\+1020", "ms/token", "bf16 ms/token"),
                                       ("prefill/1024", "tok/s", "tok/s"), ("prefill-bf16/1024", "tok/s", "bf16 tok/s")]:
                    res, rss, out = gobench(infer_test, "BenchmarkSmolLM/" + sub + "$", "3s",
                                            {"GOMAXPROCS": thr, "OPENBLAS_NUM_THREADS": thr}, os.path.join(ROOT, "infer"))
                    vals = [x[unit] for x in res.values() if unit in x]
                    if not vals:
                        sys.exit("smollm: BenchmarkSmolLM failed:\n" + out[-2000:])
                    ours[key].append(vals[0])
                    raw.append({"round": r, "side": "sinktrain", key: vals[0], "rss_mib": rss})
            else:
                for dtype, pre in [("float32", ""), ("bfloat16", "bf16 ")]:
                    out, rss, _, rc = run([a.hf_python, os.path.join(ROOT, "scripts/bench/hf_decode.py"), "--threads", thr, "--dtype", dtype],
                                          env={"OMP_NUM_THREADS": thr, "MKL_NUM_THREADS": thr}, timeout=900)
                    js = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
                    if rc != 0 or not js:
                        sys.exit("smollm: hf_decode.py failed:\n" + out[-2000:])
                    h = js[-1]
                    version = f"transformers {h['transformers']}, torch {h['torch']}, {h['cache_kind']}"
                    hf[pre + "ms/token"].append(h["decode_ms_per_token"])
                    hf[pre + "tok/s"].append(h["prefill_tok_s"])
                    raw.append({"round": r, "side": "transformers", "dtype": dtype, **h, "rss_mib": rss})
    med = lambda xs: statistics.median(xs)
    runs = lambda xs: ", ".join(f"{x:.1f}" for x in xs)
    d_ours, d_hf = med(ours["ms/token"]), med(hf["ms/token"])
    p_ours, p_hf = med(ours["tok/s"]), med(hf["tok/s"])
    db_ours, db_hf = med(ours["bf16 ms/token"]), med(hf["bf16 ms/token"])
    pb_ours, pb_hf = med(ours["bf16 tok/s"]), med(hf["bf16 tok/s"])
    lines = [
        f"SmolLM-135M shapes (random, batch 1), {thr} threads, median of {a.rounds} alternating rounds; {version}",
        "",
        "| row | sinktrain | transformers | sinktrain / transformers |",
        "|---|---:|---:|---:|",
        f"| decode ms/token, 4+1020 (runs: {runs(ours['ms/token'])} / {runs(hf['ms/token'])}) | {d_ours:.1f} | {d_hf:.1f} | "
        f"{d_hf / d_ours:.2f}× faster (aim ≥ 2×: {'PASS' if d_hf >= 2 * d_ours else 'MISS'}) |",
        f"| decode ms/token, 4+1020, bfloat16 both sides (runs: {runs(ours['bf16 ms/token'])} / {runs(hf['bf16 ms/token'])}) | "
        f"{db_ours:.1f} | {db_hf:.1f} | {db_hf / db_ours:.2f}× faster |",
        f"| decode ms/token, 4+1020, sinktrain bfloat16 vs transformers float32 | {db_ours:.1f} | {d_hf:.1f} | {d_hf / db_ours:.2f}× faster |",
        f"| prefill tok/s, 1024 tokens, float32 (runs: {runs(ours['tok/s'])} / {runs(hf['tok/s'])}) | {p_ours:.0f} | {p_hf:.0f} | {p_ours / p_hf:.2f}× |",
        f"| prefill tok/s, 1024 tokens, bfloat16 both sides (runs: {runs(ours['bf16 tok/s'])} / {runs(hf['bf16 tok/s'])}) | "
        f"{pb_ours:.0f} | {pb_hf:.0f} | {pb_ours / pb_hf:.2f}× |",
    ]
    print("\n".join(lines))
    if a.out:
        os.makedirs(a.out, exist_ok=True)
        with open(os.path.join(a.out, "smollm.md"), "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(os.path.join(a.out, "smollm.json"), "w") as f:
            json.dump(raw, f, indent=1)


if __name__ == "__main__":
    main()
