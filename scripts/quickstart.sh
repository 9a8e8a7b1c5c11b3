#!/usr/bin/env bash
# The quick start: installs what is missing, builds bin/sinktrain, prepares
# the embedded public-domain text, pretrains a vanilla and a 1-sink `tiny`
# model on it (about 2 minutes each on 2 shared cores), and compares them under
# dense, window and sink+window caches on the validation split.
# Outputs go to runs/quickstart/ (recreated on each run).
#   TRAIN_SET="k=v .."  extra --set overrides for both pretrains (scripts/readme-flows.sh
#                       passes tiny budgets: TRAIN_SET="max_steps=3 batch=2")
#   EVAL_TOKENS=N       tokens the comparison streams (default 4000)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export SINKTRAIN_NO_CLIENTS=${SINKTRAIN_NO_CLIENTS:-1} # the serve test clients (chromium, node) are for scripts/test.sh
source scripts/setup.sh

echo "== build"
go build -o bin/sinktrain ./cmd/sinktrain
out=runs/quickstart
rm -rf "$out"
mkdir -p "$out"

echo "== prepare (embedded text)"
bin/sinktrain prepare --out "$out/data" --vocab-size 512

sets=()
for kv in ${TRAIN_SET:-}; do sets+=(--set "$kv"); done
echo "== pretrain: vanilla tiny"
bin/sinktrain pretrain --config tiny --data "$out/data" --out "$out/vanilla" "${sets[@]}"
echo "== pretrain: 1-sink tiny"
bin/sinktrain pretrain --config tiny --set sinks=1 --data "$out/data" --out "$out/sink1" "${sets[@]}"

echo "== compare (validation split)"
bin/sinktrain compare --model vanilla="$out/vanilla" --model sink1="$out/sink1" \
  --data "$out/data" --cache dense --cache 0+32 --cache 1+31 --cache 4+28 --cache recompute:32 \
  --max-tokens "${EVAL_TOKENS:-4000}" --out "$out/compare"

echo
echo "checkpoints: $out/vanilla  $out/sink1   (config.json, model.safetensors, tokenizer.json, checkpoint-*/)"
echo "comparison:  $out/compare/table.md  $out/compare/ppl_vs_position.png"
