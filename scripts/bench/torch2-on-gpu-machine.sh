#!/usr/bin/env bash
# The one command for the GPU machine (16-core Xeon, PyTorch 2.x with MKL, no
# Go, no OpenBLAS, no network): sinktrain vs PyTorch CPU training tok/s on the
# reference config (2 and 16 threads × batch 8 and 32, alternating rounds),
# sinktrain's worker × BLAS-thread splits, and sgemm GF/s of OpenBLAS vs
# PyTorch on the model's shapes; then issue 15's SmolLM-135M-shaped decode
# and prefill against transformers on CPU (scripts/bench/smollm_vs_hf.py,
# SMOLLM_ROUNDS alternating rounds, 2 by default, 0 skips it). About 7–8
# minutes.
#
# Here first:   scripts/bench/pack-for-gpu-machine.sh      # → .device/torch2-pack.tar.xz
# There:        bash scripts/bench/torch2-on-gpu-machine.sh
#               (carry .device/torch2-pack.tar.xz with the working tree)
#
# Writes to $OUT (default ./torch2-out): torch2.md (the report, also printed),
# torch2.json (every raw number), torch2.log, smollm.md and smollm.json,
# MANIFEST (what the pack holds).
# ROUNDS (3), THREADS (2,16), BATCHES (8,32), DEADLINE (290 s for the
# rounds) and TORCH_PY (python3) change what runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
pack="${PACK:-.device/torch2-pack.tar.xz}"
out="${OUT:-$PWD/torch2-out}"
[ -f "$pack" ] || { echo "torch2: $pack missing; build it with scripts/bench/pack-for-gpu-machine.sh and carry it" >&2; exit 1; }
dir="$(mktemp -d /tmp/sinktrain-torch2.XXXXXX)"
trap 'rm -rf "$dir"' EXIT
if command -v xz >/dev/null 2>&1; then
  xz -dc "$pack" | tar -x -C "$dir"
else
  python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$pack" "$dir"
fi
export LD_LIBRARY_PATH="$dir/torch2-pack/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
mkdir -p "$out"
cp "$dir/torch2-pack/MANIFEST" "$out/MANIFEST"
MODE=torch2 BIN_DIR="$dir/torch2-pack/bin" OUT_DIR="$out" bash scripts/bench/run.sh 2>&1 | tee "$out/torch2.log" || echo "torch2: run.sh failed (exit $?)"
if [ "${SMOLLM_ROUNDS:-2}" != 0 ]; then
  OPENBLAS_NUM_THREADS=2 python3 scripts/bench/smollm_vs_hf.py --bin "$dir/torch2-pack/bin" --threads 2 \
    --rounds "${SMOLLM_ROUNDS:-2}" --hf-python "${TORCH_PY:-python3}" --out "$out" 2>&1 | tee -a "$out/torch2.log"
fi
