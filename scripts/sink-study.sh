#!/usr/bin/env bash
# The sink study from a fresh checkout (issues 7 and 17, DESIGN.md §10):
#
#   scripts/sink-study.sh BUDGET_TOKENS        e.g. scripts/sink-study.sh 64000000
#   scripts/sink-study.sh laptop               the laptop recipe: --config laptop-study, 2 cores, < 60 min
#   ARCH=llama scripts/sink-study.sh laptop    the same for the Llama twins (--config laptop-study-llama)
#
#   1. corpus:   scripts/get-corpus.sh                       -> corpus/train, corpus/eval
#                (laptop: the text built into sinktrain, no download)
#   2. prepare:  byte-level BPE 4096 on corpus/train         -> $DATA (runs/data)
#                (laptop: BPE 512 on the built-in text      -> runs/data-laptop)
#   3. pretrain: vanilla, sinks=1, sinks=2, sinks=4, attention=softmax1,
#                attention=sink_logit on --config $PRESET --set max_tokens=BUDGET
#                ENGINE=cpu: sinktrain's trainer; ENGINE=gpu: scripts/scale/pretrain.py
#                                                            -> $STUDY/<model>
#   4. compare:  Persuasion chars 30,000-80,000, first 2,000 tokens, under
#                0+64 1+63 2+62 4+60 0+256 0+32 4+28 dense recompute:64
#                (laptop: the validation split, 4,000 tokens, under
#                0+32 1+31 2+30 4+28 0+64 1+63 2+62 4+60 dense recompute:32)
#                                                            -> $STUDY/compare
#   5. inspect:  attention sinks of every model              -> $STUDY/inspect/<model>
#   6. report:   the Markdown write-up                       -> $STUDY/results.md
#
# Resumable: a model whose final model.safetensors exists is skipped, an
# unfinished one continues with --resume; compare, inspect and report are
# cheap and always rerun. Environment:
#   ENGINE=cpu|gpu     who trains (default cpu; gpu needs torch, transformers, accelerate, pyarrow)
#   ARCH=llama         the Llama twins: preset reference-llama / laptop-study-llama, study dir *-llama
#   STUDY=DIR          study directory (default runs/study-BUDGET, runs/study-laptop)
#   REPORT=FILE        also write the report there (e.g. runs/my-study.md; docs/results.md is the hand-written study page)
#   MODELS="a b"       subset of models (default: all six)
#   TRAIN_SET="k=v .." extra --set overrides for every pretrain (e.g. workers=16)
#   PRESET=NAME        the training preset (default reference; laptop: laptop-study)
#   DATA=DIR           prepared dataset (default runs/data; made when missing)
#   EVAL_TEXT=FILE     the text to stream (default: the Persuasion excerpt, cut from corpus/eval)
#   EVAL_TOKENS=N      tokens of the stream (default 2000; laptop 4000)
#   CACHES="..."       cache specs of the comparison (defaults above)
#   JOBS=N             train N models at once (default 1; on CPU give each TRAIN_SET=workers=K)
#   COMPARE_JOBS=N     streaming passes at once in compare (default: one per core)
#   SKIP_TRAIN=1       only evaluate the finished models of $STUDY
#   SKIP_EVAL=1        only train
#   SKIP_BUILD=1       use the existing bin/sinktrain (e.g. a static build carried to another machine)
#   SINKTRAIN_PUREGO=1 build with -tags purego (no OpenBLAS; static binary)
#   PY=python3, GPU_ARGS="--compile none"   how ENGINE=gpu runs the recipe
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

die() { echo "sink-study: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: scripts/sink-study.sh BUDGET_TOKENS | laptop (training tokens per model, e.g. 64000000)"
ENGINE=${ENGINE:-cpu}
case $ENGINE in cpu | gpu) ;; *) die "ENGINE '$ENGINE' is not cpu or gpu" ;; esac

ARCH=${ARCH:-gpt_neox}
case $ARCH in gpt_neox) twin= ;; llama) twin=-llama ;; *) die "ARCH '$ARCH' is not gpt_neox or llama" ;; esac

BUDGET=$1
LAPTOP=0
if [ "$BUDGET" = laptop ]; then
  LAPTOP=1
  PRESET=${PRESET:-laptop-study$twin}
  DATA=${DATA:-runs/data-laptop}
  STUDY=${STUDY:-runs/study-laptop$twin}
  EVAL_TOKENS=${EVAL_TOKENS:-4000}
  CACHES=${CACHES:-0+32 1+31 2+30 4+28 0+64 1+63 2+62 4+60 dense recompute:32}
else
  [[ $BUDGET =~ ^[1-9][0-9]*$ ]] || die "BUDGET_TOKENS '$BUDGET' is not a positive integer (or 'laptop')"
  PRESET=${PRESET:-reference$twin}
  DATA=${DATA:-runs/data}
  STUDY=${STUDY:-runs/study-$BUDGET$twin}
  EVAL_TOKENS=${EVAL_TOKENS:-2000}
  CACHES=${CACHES:-0+64 1+63 2+62 4+60 0+256 0+32 4+28 dense recompute:64}
fi
MODELS=${MODELS:-vanilla sinks1 sinks2 sinks4 softmax1 sink_logit}
EVAL_BOOK=corpus/eval/austen-persuasion.txt
PY=${PY:-python3}

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

# 1-2. corpus and dataset
if [ ! -f "$DATA/manifest.json" ]; then
  if [ "$LAPTOP" = 1 ]; then
    log "preparing $DATA from the built-in text (vocab 512)"
    "$BIN" prepare --out "$DATA" --vocab-size 512
  else
    if [ ! -d corpus/train ]; then
      log "downloading the corpus"
      scripts/get-corpus.sh
    fi
    log "preparing $DATA (vocab 4096)"
    "$BIN" prepare --input corpus/train --out "$DATA" --vocab-size 4096
  fi
fi

# 3. pretrain, resumably; JOBS models at a time
mkdir -p "$STUDY"
# A model is finished when its final weights exist and its marker (beside
# the run directory: the trainer refuses a directory holding what is not its own) is gone.
finished() { [ -f "$STUDY/$1/model.safetensors" ] && [ ! -f "$STUDY/.$1.unfinished" ]; }
train_one() {
  local m=$1 out=$STUDY/$1
  if finished "$m"; then
    log "$m: finished ($out/model.safetensors), skipping"
    return 0
  fi
  local args=(--config "$PRESET" --data "$DATA" --out "$out")
  [ "$LAPTOP" = 1 ] || args+=(--set "max_tokens=$BUDGET")
  for kv in $(model_sets "$m") ${TRAIN_SET:-}; do args+=(--set "$kv"); done
  if [ -d "$out" ] && ls -d "$out"/checkpoint-* >/dev/null 2>&1; then
    args+=(--resume)
    log "$m: resuming in $out"
  else
    log "$m: training ${BUDGET} into $out ($ENGINE)"
  fi
  touch "$STUDY/.$m.unfinished"
  if [ "$ENGINE" = gpu ]; then
    # shellcheck disable=SC2086
    $PY scripts/scale/pretrain.py "${args[@]}" ${GPU_ARGS:-} || return 1
  else
    "$BIN" pretrain "${args[@]}" || return 1
  fi
  rm -f "$STUDY/.$m.unfinished"
}
if [ "${SKIP_TRAIN:-0}" != 1 ]; then
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
fi
[ "${SKIP_EVAL:-0}" = 1 ] && exit 0

done_models=""
for m in $MODELS; do
  if finished "$m"; then done_models="$done_models $m"; else log "$m: not finished, left out of the comparison"; fi
done
[ -n "$done_models" ] || die "no finished model in $STUDY to compare"

# 4. compare. Persuasion characters 30,000-80,000 (Python-style character
# offsets after CRLF -> LF, as the PyTorch reference read it) or the laptop
# dataset's validation split.
if [ "$LAPTOP" = 1 ] && [ -z "${EVAL_TEXT:-}" ]; then
  source_args=(--data "$DATA")
  what="the validation split of $DATA, first $EVAL_TOKENS tokens"
  inspect_text=$STUDY/val-text.txt
  # inspect attention reads text: the start of the built-in Alice (attention statistics need no held-out text)
  perl -CSD -0777 -ne 'print substr($_, 0, 4000)' data/corpus/carroll-alice.txt >"$inspect_text"
else
  if [ -z "${EVAL_TEXT:-}" ]; then
    [ -f "$EVAL_BOOK" ] || scripts/get-corpus.sh
    EVAL_TEXT=$STUDY/persuasion-30000-80000.txt
    perl -CSD -0777 -ne 's/\r\n/\n/g; print substr($_, 30000, 50000)' "$EVAL_BOOK" >"$EVAL_TEXT.tmp"
    mv "$EVAL_TEXT.tmp" "$EVAL_TEXT"
  fi
  [ -f "$EVAL_TEXT" ] || die "EVAL_TEXT $EVAL_TEXT is missing"
  source_args=(--text "$EVAL_TEXT")
  what="$EVAL_TEXT, first $EVAL_TOKENS tokens (Persuasion characters 30,000-80,000 unless EVAL_TEXT says otherwise)"
  inspect_text=$EVAL_TEXT
fi
cmp_args=(compare "${source_args[@]}" --out "$STUDY/compare" --max-tokens "$EVAL_TOKENS")
[ -n "${COMPARE_JOBS:-}" ] && cmp_args+=(--jobs "$COMPARE_JOBS")
for m in $done_models; do cmp_args+=(--model "$m=$STUDY/$m"); done
for c in $CACHES; do cmp_args+=(--cache "$c"); done
log "comparing$done_models under $CACHES"
"$BIN" "${cmp_args[@]}"

# 5. inspect attention sinks
if [ "$LAPTOP" = 1 ]; then
  command="${twin:+ARCH=$ARCH }scripts/sink-study.sh laptop"
  notes="Each model: --config $PRESET ($ENGINE). Stream: $what; attention statistics over the first 256 tokens of $inspect_text."
else
  command="ENGINE=$ENGINE ${twin:+ARCH=$ARCH }scripts/sink-study.sh $BUDGET"
  notes="Each model: --config $PRESET, $BUDGET training tokens ($ENGINE). Stream: $what; attention statistics over its first 256 tokens."
fi
rep_args=(compare report --compare "$STUDY/compare" --command "$command" --notes "$notes")
for m in $done_models; do
  log "$m: inspecting attention"
  "$BIN" inspect attention --model "$STUDY/$m" --text "$inspect_text" --tokens 256 --out "$STUDY/inspect/$m"
  rep_args+=(--inspect "$m=$STUDY/inspect/$m")
done

# 6. report
"$BIN" "${rep_args[@]}" --out "$STUDY/results.md"
if [ -n "${REPORT:-}" ]; then
  "$BIN" "${rep_args[@]}" --out "$REPORT"
fi
log "done: $STUDY/results.md${REPORT:+ and $REPORT}"
