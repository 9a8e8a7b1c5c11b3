#!/usr/bin/env bash
# Per-token decode time on the reference config (d=256, 4 layers, 4 heads,
# V=4096, random weights): 4+252, 4+1020 vs recompute:256, recompute:1024,
# and 4+252 at stream position 1K vs 1M. Pinned to 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
GOMAXPROCS=2 go test ./infer/ -run '^$' -bench 'BenchmarkDecode' -benchtime "${BENCHTIME:-2s}" -count=1
