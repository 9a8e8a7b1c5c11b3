#!/usr/bin/env bash
# Packs what the GPU machine needs and cannot fetch into runs/gpu-carry/carry.tar.gz
# (about 20 MB): a static sinktrain binary, the default corpus prepared into
# runs/data, and the Persuasion excerpt of the study. Run it here, then carry
# runs/gpu-carry to the GPU machine (scripts/scale/README.md).
#
#   scripts/scale/pack-carry.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
if ! command -v go >/dev/null 2>&1; then export PATH=/usr/local/go/bin:$PATH; fi
mkdir -p bin runs/gpu-carry
echo "pack-carry: building a static bin/sinktrain (purego)" >&2
CGO_ENABLED=0 go build -tags purego -trimpath -ldflags="-s -w" -o runs/gpu-carry/sinktrain ./cmd/sinktrain
[ -d corpus/train ] && [ -f corpus/eval/austen-persuasion.txt ] || scripts/get-corpus.sh
if [ ! -f runs/data/manifest.json ]; then
  runs/gpu-carry/sinktrain prepare --input corpus/train --out runs/data --vocab-size 4096
fi
# The study's excerpt: characters 30,000-80,000 after CRLF -> LF (scripts/sink-study.sh cuts it the same way).
perl -CSD -0777 -ne 's/\r\n/\n/g; print substr($_, 30000, 50000)' corpus/eval/austen-persuasion.txt >runs/persuasion-30000-80000.txt
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/runs"
mv runs/gpu-carry/sinktrain "$stage/bin/sinktrain"
cp -r runs/data "$stage/runs/data"
cp runs/persuasion-30000-80000.txt "$stage/runs/"
tar -C "$stage" -czf runs/gpu-carry/carry.tar.gz.tmp bin runs
mv runs/gpu-carry/carry.tar.gz.tmp runs/gpu-carry/carry.tar.gz
echo "pack-carry: runs/gpu-carry/carry.tar.gz $(du -h runs/gpu-carry/carry.tar.gz | cut -f1) (bin/sinktrain, runs/data, runs/persuasion-30000-80000.txt)" >&2
