#!/usr/bin/env bash
# The sink study on the GPU machine in one command (default: at most 9 minutes).
# Needs runs/gpu-carry from scripts/scale/pack-carry.sh. Writes $OUT/study-results.tar.gz
# (compare tables/CSV/JSON/plots, inspect attention, reports, metrics.jsonl,
# configs, logs, schedule: no weights).
#
#   scripts/scale/study-on-gpu.sh                     the default plan, by priority:
#       64000000:sinks1,vanilla,sinks4,sinks2,softmax1,sink_logit  256000000:sinks1,sinks4,sinks2
#       16000000:all  8192000:vanilla,sinks1  256000000:vanilla,softmax1,sink_logit
#   scripts/scale/study-on-gpu.sh 256000000:sinks1,sinks2,sinks4      a plan of your own
#
# Environment: DEADLINE (s, default 530: everything stops by then), TRAIN_DEADLINE
# (default DEADLINE-150), SLOTS (training processes at once, default 9),
# GPU_ARGS (extra pretrain.py arguments, e.g. "--compile none"), COMPARE_JOBS (default 6),
# ARCH=llama (the Llama twins, in runs/gpu-study-llama).
# What did not fit is listed in schedule.md inside the archive.
source "$(dirname "${BASH_SOURCE[0]}")/gpu-env.sh"
DEADLINE=${DEADLINE:-530}
STUDY_OUT=runs/gpu-study${ARCH:+-$ARCH}
args=(--out "$STUDY_OUT" --data runs/data --eval-text runs/persuasion-30000-80000.txt --deadline "$DEADLINE"
  --slots "${SLOTS:-9}" --compare-jobs "${COMPARE_JOBS:-6}")
[ -n "${TRAIN_DEADLINE:-}" ] && args+=(--train-deadline "$TRAIN_DEADLINE")
[ -n "${GPU_ARGS:-}" ] && args+=(--gpu-args "$GPU_ARGS")
rc=0
python3 scripts/scale/study.py "${args[@]}" "$@" || rc=$?
# Collect the results (no weights, no tokenizers, no optimizer state).
list=$(mktemp)
(cd "$STUDY_OUT" && find . -type f \( -name '*.json' -o -name '*.jsonl' -o -name '*.csv' -o -name '*.md' -o -name '*.png' -o -name '*.log' -o -name '*.txt' \) \
  ! -name 'tokenizer.json' ! -name 'tokenizer_config.json' ! -name 'special_tokens_map.json' ! -path '*/checkpoint-*' | sort) >"$list"
tar -C "$STUDY_OUT" -czf "$RESULTS/study-results.tar.gz" -T "$list"
size=$(stat -c %s "$RESULTS/study-results.tar.gz")
if [ "$size" -gt 16000000 ]; then # over what comes back: drop the per-layer attention maps first
  grep -v 'attention_L' "$list" >"$list.small"
  tar -C "$STUDY_OUT" -czf "$RESULTS/study-results.tar.gz" -T "$list.small"
fi
cp "$STUDY_OUT/schedule.md" "$RESULTS/" 2>/dev/null || true
echo "study-on-gpu: $RESULTS/study-results.tar.gz ($(du -h "$RESULTS/study-results.tar.gz" | cut -f1)); schedule:"
cat "$STUDY_OUT/schedule.md" 2>/dev/null || true
exit $rc
