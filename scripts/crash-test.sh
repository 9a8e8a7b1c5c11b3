#!/usr/bin/env bash
# crash-test.sh: SIGKILLs a `tiny` (or CONFIG) pretraining at KILLS random moments
# (random sleeps, right after a checkpoint's temporary folder appears, and
# after random steps), resumes it each time with --resume (or starts it again
# when no checkpoint exists yet), checks after every kill that every
# checkpoint-* folder present loads (sinktrain eval stream), stops it once
# with SIGTERM halfway (exit 0, checkpoint of the last step), and finally
# compares the trajectory (metrics.jsonl, every step, all fields but the
# wall-clock tok_s) and the final weights with an uninterrupted run of the
# same seed. Prints one summary line; exits non-zero on any failure (the
# work folder is then kept).
#
#   scripts/crash-test.sh                 # 20 kills, 200 steps
#   KILLS=5 STEPS=30 CRASH_SEED=1 scripts/crash-test.sh
#   CONFIG=tiny-llama scripts/crash-test.sh   # the same on the Llama twin (any preset or JSON file)
#   KEEP=1 scripts/crash-test.sh          # keep the work folder for a look
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

config=${CONFIG:-tiny}
kills=${KILLS:-20}
steps=${STEPS:-200}
RANDOM=${CRASH_SEED:-$$}
bin=bin/sinktrain
work=$(mktemp -d "${TMPDIR:-/tmp}/crash-test.XXXXXX")
cleanup() {
  local rc=$?
  if [ -n "${pid:-}" ]; then kill -9 "$pid" 2>/dev/null || true; fi
  if [ "${KEEP:-0}" = 1 ] || [ "$rc" != 0 ]; then echo "crash-test: work folder $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
fail() { echo "crash-test: FAIL: $*" >&2; exit 1; }

go build -o "$bin" ./cmd/sinktrain
"$bin" prepare --out "$work/data" --vocab-size 512 --sinks 0 >"$work/prepare.log" 2>&1 ||
  fail "prepare (see $work/prepare.log)"
echo "1 2 3 4 5 6 7 8" >"$work/small.ids"

args=(pretrain --config "$config" --data "$work/data"
  --set max_steps="$steps" --set checkpoint_interval=3 --set keep_checkpoints=2
  --set log_interval=1 --set eval_interval=20 --set eval_tokens=1024
  --set batch=4 --set block_size=32 --set workers=1 --set seed=7)

# The uninterrupted reference, timed to scale the random sleeps.
t0=$(date +%s%N)
"$bin" "${args[@]}" --out "$work/ref" >"$work/ref.log" 2>&1 || fail "reference run (see $work/ref.log)"
ref_ms=$((($(date +%s%N) - t0) / 1000000))
seg_ms=$((ref_ms * 4 / steps + 1)) # about 4 steps

run=$work/run
newest() { # newest complete checkpoint step of $run, or -1
  local d s=-1
  for d in "$run"/checkpoint-*; do
    [ -f "$d/config.json" ] && [ -f "$d/model.safetensors" ] && s=$((10#${d##*checkpoint-}))
  done
  echo "$s"
}
last_step() { # last step logged in metrics.jsonl, or 0
  local l
  l=$(tail -n 1 "$run/metrics.jsonl" 2>/dev/null || true)
  l=${l#*\"step\":}
  [[ $l =~ ^[0-9]+ ]] && echo "${BASH_REMATCH[0]}" || echo 0
}
check_loads() { # every checkpoint-* folder present must load
  local d
  for d in "$run"/checkpoint-*; do
    [ -e "$d" ] || continue
    for f in config.json model.safetensors optimizer.safetensors trainer_state.json; do
      [ -f "$d/$f" ] || fail "after kill $1: $d lacks $f"
    done
    "$bin" eval stream --model "$d" --ids "$work/small.ids" --cache dense >/dev/null 2>"$work/load.err" ||
      fail "after kill $1: $d does not load: $(cat "$work/load.err")"
    checked=$((checked + 1))
  done
}
progress() { # last step of segment $1 (stale metrics lines count only once it started)
  if grep -qs 'model:' "$work/seg-$1.log"; then last_step; else echo "$base"; fi
}
ms_sleep() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }

start() { # start (or resume) the run in the background; sets pid, from
  from=$(newest)
  local extra=()
  [ "$from" -ge 0 ] && extra=(--resume)
  "$bin" "${args[@]}" --out "$run" "${extra[@]}" >"$work/seg-$1.log" 2>&1 &
  pid=$!
}

# alive reports whether $pid still runs; once it ended, rc holds its status.
alive() {
  kill -0 "$pid" 2>/dev/null && return 0
  rc=0
  wait "$pid" || rc=$?
  pid=
  return 1
}

# term_stop: SIGTERM a resumed run once it has made a step: it finishes
# the step, checkpoints it and exits 0 with a message on how to resume.
term_stop() {
  start term
  [ "$from" -ge 0 ] && resumes=$((resumes + 1)) || fresh=$((fresh + 1))
  while alive && ! grep -qs 'model:' "$work/seg-term.log"; do sleep 0.01; done # handler installed
  while alive && [ "$(last_step)" -lt $((from + 1)) ]; do sleep 0.01; done
  [ -n "${pid:-}" ] || fail "SIGTERM: the run ended before the signal"
  kill -TERM "$pid"
  rc=0
  wait "$pid" || rc=$?
  pid=
  [ "$rc" = 0 ] || fail "SIGTERM: exit status $rc, expected 0: $(tail -n 1 "$work/seg-term.log")"
  grep -q -- "--resume" "$work/seg-term.log" || fail "SIGTERM: no message on how to resume"
  [ "$(newest)" = "$(last_step)" ] || fail "SIGTERM: newest checkpoint $(newest), last step $(last_step)"
  check_loads term
  term=1
}

term=0 done_kills=0 resumes=0 fresh=0 ckpt_kills=0 checked=0 finished_early=0
for ((i = 1; i <= kills; i++)); do
  start "$i"
  if [ "$i" -gt 1 ]; then
    [ "$from" -ge 0 ] && resumes=$((resumes + 1)) || fresh=$((fresh + 1))
  fi
  # Each segment may advance at most its share of the steps left, so the
  # run cannot finish before the last kill.
  base=$((from > 0 ? from : 0))
  cap=$((base + (steps - 2 - base) / (kills - i + 1)))
  [ "$cap" -gt "$base" ] || cap=$((base + 1))
  case $((i % 3)) in
  0) # a random moment (startup, a step, a checkpoint write, a prune...),
    # at most 4 steps past the resume point
    deadline=$(($(date +%s%N) / 1000000 + RANDOM % (2 * seg_ms)))
    while alive && [ $(($(date +%s%N) / 1000000)) -lt "$deadline" ] && [ "$(progress "$i")" -lt $((from + 4)) ] && [ "$(progress "$i")" -lt "$cap" ]; do
      sleep 0.005
    done
    ;;
  1) # during a checkpoint write: right after a new temporary folder appears
    # (or, when polling missed it, right after the checkpoint completed)
    before=$(compgen -G "$run/.checkpoint-*.tmp-*" || true)
    while alive; do
      now=$(compgen -G "$run/.checkpoint-*.tmp-*" || true)
      if [ -n "$now" ] && [ "$now" != "$before" ]; then
        ckpt_kills=$((ckpt_kills + 1))
        break
      fi
      [ "$(newest)" -gt "$from" ] && break
      [ "$(progress "$i")" -ge "$cap" ] && break
      sleep 0.005
    done
    ms_sleep $((RANDOM % 40))
    ;;
  2) # after a random number of new steps, plus a random few milliseconds
    target=$((from + 1 + RANDOM % 4))
    [ "$target" -le "$cap" ] || target=$cap
    while alive && ! grep -qs 'model:' "$work/seg-$i.log"; do sleep 0.01; done
    while alive && [ "$(last_step)" -lt "$target" ]; do sleep 0.01; done
    ms_sleep $((RANDOM % 60))
    ;;
  esac
  if [ -n "${pid:-}" ] && alive; then
    kill -9 "$pid" 2>/dev/null || true
    rc=0
    wait "$pid" 2>/dev/null || rc=$?
    pid=
  fi
  if [ "$rc" = 0 ]; then
    echo "segment $i (mode $((i % 3)), from $from) ran to the end" >>"$work/kills.log"
    finished_early=1 # the run reached max_steps before this kill
    break
  elif [ "$rc" != 137 ]; then
    fail "segment $i exited with status $rc: $(tail -n 1 "$work/seg-$i.log")"
  fi
  done_kills=$((done_kills + 1))
  echo "kill $i: mode $((i % 3)), resumed from $from, last step logged $(last_step), newest checkpoint $(newest)" >>"$work/kills.log"
  grep -q '^sinktrain:' "$work/seg-$i.log" && fail "segment $i: $(grep '^sinktrain:' "$work/seg-$i.log")"
  if [ "$from" -ge 0 ] && grep -q 'model:' "$work/seg-$i.log"; then
    grep -q "^resuming from .*(step $from of" "$work/seg-$i.log" || fail "segment $i did not resume from step $from"
  fi
  check_loads "$i"
  if [ "$i" = $((kills / 2)) ]; then term_stop; fi
done

if [ "$finished_early" = 0 ]; then
  # The last resume runs to the end.
  start final
  [ "$from" -ge 0 ] && resumes=$((resumes + 1)) || fresh=$((fresh + 1))
  rc=0
  wait "$pid" || rc=$?
  pid=
  [ "$rc" = 0 ] || fail "final resume exited with status $rc: $(tail -n 1 "$work/seg-final.log")"
  check_loads final
fi

# Compare every metrics line except the wall-clock tok_s.
strip() { sed -E 's/"tok_s":[^,}]*,?//' "$1"; }
if ! diff <(strip "$work/ref/metrics.jsonl") <(strip "$run/metrics.jsonl") >"$work/diff.txt"; then
  fail "trajectories differ after $done_kills kills: $(head -n 4 "$work/diff.txt" | tr '\n' ' ')"
fi
cmp -s "$work/ref/model.safetensors" "$run/model.safetensors" || fail "final weights differ"
n=$(grep -c '"loss"' "$run/metrics.jsonl")
[ "$n" -eq "$steps" ] || fail "metrics.jsonl has $n steps, expected $steps"
[ "$finished_early" = 0 ] || echo "crash-test: note: the run finished after $done_kills of $kills kills" >&2
echo "crash-test: --config $config: $done_kills kills, $((resumes + fresh)) clean resumes ($fresh from scratch before any checkpoint," \
  "$ckpt_kills kills timed on checkpoint writes, $checked checkpoint loads OK, $term SIGTERM stop), trajectory identical ($steps steps, final weights bit-identical)"
