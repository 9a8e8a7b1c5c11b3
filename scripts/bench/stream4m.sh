#!/usr/bin/env bash
# Issue 16: a long stream (default 4,000,000 tokens of a prepared dataset)
# through a model under 4+252 and 4+1020 with sinktrain eval stream
# (chunked scoring): NLL, tok/s and peak RSS of each, next to a 10,000-token
# stream of the same data in its own process; fails if the long stream's
# peak RSS is more than 5% above the short one's.
#
#   MODEL=runs/ref300 DATA=runs/data/train-00000.arrow scripts/bench/stream4m.sh
# (a bare .arrow file is its train split; a prepared directory streams its
# val split, 126K tokens for the default corpus)
#   TOKENS=1000000 CHUNK=512 THREADS=2 MODEL=... scripts/bench/stream4m.sh
#   SPECS="4+1020" BIN=path/to/sinktrain MODEL=... scripts/bench/stream4m.sh
# (SPECS: the caches, default "4+252 4+1020"; BIN: a built sinktrain, e.g. on
# a machine without Go, instead of building one)
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL="${MODEL:?set MODEL to a model folder, e.g. runs/ref300}"
DATA="${DATA:-runs/data/train-00000.arrow}"
TOKENS="${TOKENS:-4000000}"
CHUNK="${CHUNK:-512}"
export GOMAXPROCS="${THREADS:-2}"
work="$(mktemp -d /tmp/sinktrain-stream4m.XXXXXX)"
trap 'rm -rf "$work"' EXIT
bin="${BIN:-$work/sinktrain}"
[ -n "${BIN:-}" ] || go build -o "$bin" ./cmd/sinktrain
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, GOMAXPROCS $GOMAXPROCS; load average $(cut -d' ' -f1-3 /proc/loadavg)"
for spec in ${SPECS:-4+252 4+1020}; do
	for n in 10000 "$TOKENS"; do
		"$bin" eval stream --model "$MODEL" --data "$DATA" --max-tokens "$n" --cache "$spec" --chunk "$CHUNK" --json |
			sed "s/^{/{\"max_tokens\":$n,/"
	done
done | tee "$work/results.jsonl"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$work/results.jsonl" <<'PY'
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
ok = True
for spec in sorted({r["cache"] for r in rs}):
    short, long = sorted((r for r in rs if r["cache"] == spec), key=lambda r: r["max_tokens"])
    g = long["peak_rss_mb"] / short["peak_rss_mb"] - 1
    ok &= g <= 0.05
    print(f"{spec}: {long['tokens']:,} targets: nll {long['nll']:.4f} (ppl {long['ppl']:.2f}), {long['tok_s']:,.0f} tok/s "
          f"({long['tokens'] / long['tok_s'] / 60:.1f} min), peak RSS {long['peak_rss_mb']:.1f} MB vs {short['peak_rss_mb']:.1f} MB "
          f"for {short['tokens']:,} targets ({100 * g:+.1f}%, target ≤ +5%: {'PASS' if g <= 0.05 else 'MISS'})")
sys.exit(0 if ok else 1)
PY
