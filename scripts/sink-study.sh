#!/usr/bin/env bash
# The sink study from a fresh checkout (issue 7, DESIGN.md §10):
#
#   scripts/sink-study.sh BUDGET_TOKENS        e.g. scripts/sink-study.sh 64000000
#
#   1. corpus:   scripts/get-corpus.sh                       -> corpus/train, corpus/eval
#   2. prepare:  byte-level BPE 4096 on corpus/train         -> runs/data
#   3. pretrain: vanilla, sinks=1, sinks=2, sinks=4, attention=softmax1,
#                attention=sink_logit on --config reference --set max_tokens=BUDGET
#                                                            -> $STUDY/<model>
#   4. compare:  Persuasion chars 30,000-80,000, first 2,000 tokens, under
#                0+64 1+63 2+62 4+60 0+128 4+124 0+256 dense recompute:64
#                                                            -> $STUDY/compare
#   5. inspect:  attention sinks of every model              -> $STUDY/inspect/<model>
#   6. report:   the Markdown write-up                       -> $STUDY/results.md
#
# Resumable: a model whose final model.safetensors exists is skipped, an
# unfinished one continues with --resume; compare, inspect and report are
# cheap and always rerun. Environment:
#   STUDY=DIR          study directory (default runs/study-BUDGET)
#   REPORT=FILE        also write the report there (e.g. docs/results.md)
#   MODELS="a b"       subset of models (default: all six)
#   TRAIN_SET="k=v .." extra --set overrides for every pretrain (e.g. workers=16)
#   EVAL_TOKENS=N      tokens of the excerpt to stream (default 2000)
#   JOBS=N             train N models at once (default 1; give each TRAIN_SET=workers=K)
#   SKIP_BUILD=1       use the existing bin/sinktrain (e.g. a static build carried to another machine)
#   SINKTRAIN_PUREGO=1 build with -tags purego (no OpenBLAS; static binary)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

die() { echo "sink-study: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: scripts/sink-study.sh BUDGET_TOKENS (training tokens per model, e.g. 64000000)"
BUDGET=$1
[[ $BUDGET =~ ^[1-9][0-9]*$ ]] || die "BUDGET_TOKENS '$BUDGET' is not a positive integer"

STUDY=${STUDY:-runs/study-$BUDGET}
EVAL_TOKENS=${EVAL_TOKENS:-2000}
MODELS=${MODELS:-vanilla sinks1 sinks2 sinks4 softmax1 sink_logit}
CACHES="0+64 1+63 2+62 4+60 0+128 4+124 0+256 dense recompute:64"
EVAL_BOOK=corpus/eval/austen-persuasion.txt

log() { echo "== sink-study: $*" >&2; }

# model_sets NAME: the --set overrides that define a model of the study.
model_sets() {
  case $1 in
    vanilla) echo "" ;;
    sinks1) echo "sinks=1" ;;
    sinks2) echo "sinks=2" ;;
    sinks4) echo "sinks=4" ;;
    softmax1) echo "attention=softmax1" ;;
    sink_logit) echo "attention=sink_logit" ;;
    *) die "unknown model '$1' in MODELS (known: vanilla sinks1 sinks2 sinks4 softmax1 sink_logit)" ;;
  esac
}
for m in $MODELS; do model_sets "$m" >/dev/null; done

BIN=bin/sinktrain
if [ "${SKIP_BUILD:-0}" = 1 ]; then
  [ -x "$BIN" ] || die "SKIP_BUILD=1 but $BIN is missing"
else
  source scripts/setup.sh
  log "building $BIN"
  if [ "${SINKTRAIN_PUREGO:-0}" = 1 ]; then
    CGO_ENABLED=0 go build -tags purego -o "$BIN" ./cmd/sinktrain
  else
    go build -o "$BIN" ./cmd/sinktrain
  fi
fi

# 1. corpus
if [ ! -d corpus/train ] || [ ! -f "$EVAL_BOOK" ]; then
  log "downloading the corpus"
  scripts/get-corpus.sh
fi
[ -f "$EVAL_BOOK" ] || die "$EVAL_BOOK is missing after scripts/get-corpus.sh"

# 2. prepare
if [ ! -f runs/data/manifest.json ]; then
  log "preparing runs/data (vocab 4096)"
  "$BIN" prepare --input corpus/train --out runs/data --vocab-size 4096
fi

# 3. pretrain, resumably; JOBS models at a time (each with TRAIN_SET's workers)
mkdir -p "$STUDY"
train_one() {
  local m=$1 out=$STUDY/$1
  if [ -f "$out/model.safetensors" ] && [ ! -f "$out/.unfinished" ]; then
    log "$m: finished ($out/model.safetensors), skipping"
    return 0
  fi
  local args=(pretrain --config reference --data runs/data --out "$out" --set "max_tokens=$BUDGET")
  for kv in $(model_sets "$m") ${TRAIN_SET:-}; do args+=(--set "$kv"); done
  if [ -d "$out" ]; then
    args+=(--resume)
    log "$m: resuming in $out"
  else
    log "$m: training $BUDGET tokens into $out"
  fi
  mkdir -p "$out" && touch "$out/.unfinished"
  "$BIN" "${args[@]}" || return 1
  rm -f "$out/.unfinished"
}
JOBS=${JOBS:-1}
running=0
failed=0
for m in $MODELS; do
  if [ "$JOBS" -le 1 ]; then
    train_one "$m" || die "$m: pretrain failed"
    continue
  fi
  train_one "$m" >"$STUDY/$m.log" 2>&1 &
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then
    wait -n || failed=1
    running=$((running - 1))
  fi
done
while [ "$running" -gt 0 ]; do wait -n || failed=1; running=$((running - 1)); done
[ "$failed" = 0 ] || die "a pretrain failed: see $STUDY/*.log"
for m in $MODELS; do
  [ -f "$STUDY/$m/model.safetensors" ] && [ ! -f "$STUDY/$m/.unfinished" ] || die "$m: pretrain ended without $STUDY/$m/model.safetensors"
done

# 4. compare on the held-out book: characters 30,000-80,000 (Python-style
# character offsets after CRLF -> LF, as the PyTorch reference read it).
excerpt=$STUDY/persuasion-30000-80000.txt
perl -CSD -0777 -ne 's/\r\n/\n/g; print substr($_, 30000, 50000)' "$EVAL_BOOK" >"$excerpt.tmp"
mv "$excerpt.tmp" "$excerpt"
cmp_args=(compare --text "$excerpt" --out "$STUDY/compare" --max-tokens "$EVAL_TOKENS")
for m in $MODELS; do cmp_args+=(--model "$m=$STUDY/$m"); done
for c in $CACHES; do cmp_args+=(--cache "$c"); done
log "comparing $MODELS under $CACHES"
"$BIN" "${cmp_args[@]}"

# 5. inspect attention sinks
rep_args=(compare report --compare "$STUDY/compare"
  --command "scripts/sink-study.sh $BUDGET"
  --notes "Each model: --config reference, $BUDGET training tokens. Stream: $EVAL_BOOK characters 30,000-80,000, first $EVAL_TOKENS tokens; attention statistics over its first 256 tokens.")
for m in $MODELS; do
  log "$m: inspecting attention"
  "$BIN" inspect attention --model "$STUDY/$m" --text "$excerpt" --tokens 256 --out "$STUDY/inspect/$m"
  rep_args+=(--inspect "$m=$STUDY/inspect/$m")
done

# 6. report
"$BIN" "${rep_args[@]}" --out "$STUDY/results.md"
if [ -n "${REPORT:-}" ]; then
  "$BIN" "${rep_args[@]}" --out "$REPORT"
fi
log "done: $STUDY/results.md${REPORT:+ and $REPORT}"
