#!/usr/bin/env bash
# The GPU-machine test of the recipe (about 4 minutes on one H200). Needs
# runs/gpu-carry from scripts/scale/pack-carry.sh. Results (logs, a summary)
# go to $OUT (default runs/gpu-results); the last line says PASS or FAIL.
#
#   scripts/scale/test-on-gpu.sh
#   SECTIONS=6 scripts/scale/test-on-gpu.sh   # only the sections named (5 reads the runs of 2 and 3)
#
#   1. refusals, one line each, before any training: a shard whose sha256 does
#      not match the manifest, an unknown config key, an unknown attention variant;
#   2. a 1000-step run (tiny model on the default corpus, 1 sink, eager) killed
#      with SIGKILL at its step-500 checkpoint and resumed, against the same
#      run uninterrupted: bit-identical, or within tolerance step by step;
#   3. torch.compile runs (sink_logit, softmax1) and a Llama run (GQA, tied);
#   4. the recipe's model against sinktrain's engine, token by token
#      (check_engine.py; sink logits randomised): softmax, softmax1, sink_logit;
#   5. the runs read by bin/sinktrain eval stream, compare, inspect attention;
#   6. two processes (torchrun, CPU, gloo) against one: the row split.
source "$(dirname "${BASH_SOURCE[0]}")/gpu-env.sh"
T=runs/gpu-test
rm -rf "$T"
mkdir -p "$T"
SUMMARY=$RESULTS/test-summary.txt
: >"$SUMMARY"
fail=0
say() { echo "$*" | tee -a "$SUMMARY"; }
ok() { say "ok   $*"; }
bad() { say "FAIL $*"; fail=1; }
PT=scripts/scale/pretrain.py
SECTIONS=${SECTIONS:-123456}
TINY=(--data runs/data --config tiny --set log_interval=1 --set eval_interval=100 --set checkpoint_interval=100 --set eval_tokens=4096)

# 1. refusals
if [[ $SECTIONS == *1* ]]; then
cp -r runs/data "$T/baddata"
printf 'x' >>"$T/baddata/val-00000.arrow"
refuse() { # NAME WANT ARGS...: exit 1, one line containing WANT, no run directory
  local name=$1 want=$2
  shift 2
  local err rc=0
  err=$(python3 $PT "$@" --out "$T/refused-$name" 2>&1 >/dev/null) || rc=$?
  if [ "$rc" = 1 ] && [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] && [[ $err == *"$want"* ]] && [ ! -e "$T/refused-$name" ]; then
    ok "refuses $name: $err"
  else
    bad "refuses $name: exit $rc: $err"
  fi
}
refuse sha256 "does not match the manifest" --data "$T/baddata" --config tiny
refuse unknown-key "unknown config key 'hiden_size'" --data runs/data --config tiny --set hiden_size=3
refuse unknown-variant "attention 'relu' is not supported" --data runs/data --config tiny --set attention=relu
fi

# 2. kill and resume
if [[ $SECTIONS == *2* ]]; then
train() { # OUT ARGS...
  local out=$1
  shift
  python3 $PT "${TINY[@]}" --out "$out" "$@" >"$out.log" 2>&1
}
t0=$(date +%s)
KR=(--set max_steps=1000 --set checkpoint_interval=250 --set eval_interval=250 --set sinks=1 --compile none --deterministic)
if train "$T/full" "${KR[@]}"; then
  ok "1000 steps, eager: $(tail -n 1 "$T/full.log")"
else
  bad "1000 steps, eager: $(tail -n 3 "$T/full.log")"
fi
python3 $PT "${TINY[@]}" --out "$T/killed" "${KR[@]}" >"$T/killed.log" 2>&1 &
pid=$!
for _ in $(seq 6000); do [ -d "$T/killed/checkpoint-000500" ] && break; sleep 0.02; done
kill -9 $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
cp "$T/killed/metrics.jsonl" "$T/killed-before.jsonl"
say "     SIGKILL after: $(tail -n 1 "$T/killed-before.jsonl" | cut -c1-40)"
if python3 $PT "${TINY[@]}" --out "$T/killed" "${KR[@]}" --resume >"$T/resumed.log" 2>&1; then
  ok "resumed: $(grep -m1 resuming "$T/resumed.log")"
else
  bad "resume: $(tail -n 3 "$T/resumed.log")"
fi
python3 - "$T/full" "$T/killed" "$T/killed-before.jsonl" <<'PY' | tee -a "$SUMMARY" || fail=1
import json, sys
def load(p):
    return {m["step"]: m for m in map(json.loads, open(p))}
a, b, pre = load(sys.argv[1] + "/metrics.jsonl"), load(sys.argv[2] + "/metrics.jsonl"), load(sys.argv[3])
if sorted(a) != sorted(b) or len(a) != 1000:
    print("FAIL resume: steps logged %d vs %d" % (len(a), len(b))); sys.exit(1)
rel = lambda x, y: abs(x - y) / max(abs(x), 1e-12)
# Steps the killed process ran past its step-500 checkpoint, run again from that checkpoint:
# same weights, moments, schedule and batches; only kernel non-determinism may separate them.
again = [s for s in pre if s > 500]
rerun = max([rel(pre[s]["loss"], b[s]["loss"]) for s in again] or [0.0])
worst = max(rel(a[s]["loss"], b[s]["loss"]) for s in a)
val = rel(a[1000]["val_loss"], b[1000]["val_loss"])
same = open(sys.argv[1] + "/model.safetensors", "rb").read() == open(sys.argv[2] + "/model.safetensors", "rb").read()
msg = ("resume vs uninterrupted: final weights %s, worst step loss rel diff %.2e, final val_loss %.4f vs %.4f (%.2e); "
       "%d steps past the checkpoint run again: worst rel diff %.2e") % (
    "bit-identical" if same else "differ", worst, a[1000]["val_loss"], b[1000]["val_loss"], val, len(again), rerun)
ok = same or (rerun < 1e-4 and val < 2e-2 and worst < 5e-2)
print(("ok   " if ok else "FAIL ") + msg)
sys.exit(0 if ok else 1)
PY
say "     (kill/resume part: $(( $(date +%s) - t0 )) s)"
fi

# 3. compiled variants and Llama
if [[ $SECTIONS == *3* ]]; then
for v in "sink_logit --set attention=sink_logit --set sinks=1" "softmax1 --set attention=softmax1" \
  "llama --set arch=llama --set num_kv_heads=1 --set tie_embeddings=true --set sinks=2 --set attention=sink_logit --compile none"; do
  set -- $v
  name=$1
  shift
  compile=(--compile default)
  [[ " $* " == *" --compile "* ]] && compile=()
  t0=$(date +%s)
  if train "$T/$name" --set max_steps=200 "${compile[@]}" "$@"; then
    ok "$name: 200 steps in $(( $(date +%s) - t0 )) s: $(grep '^step 200/' "$T/$name.log")"
  else
    bad "$name: $(tail -n 3 "$T/$name.log")"
  fi
done
fi

# 4. the model against sinktrain's engine
if [[ $SECTIONS == *4* ]]; then
for r in full sink_logit softmax1; do
  d=$T/engine-$r
  if python3 scripts/scale/check_engine.py prepare --run "$T/$r" --data runs/data --tokens 400 --out "$d" --randomize-sink-logits >"$d.log" 2>&1 &&
    bin/sinktrain eval stream --model "$d/model" --ids "$d/ids.txt" --cache dense --nll-out "$d/go.csv" >>"$d.log" 2>&1 &&
    python3 scripts/scale/check_engine.py compare --out "$d" --tol 2e-3 >>"$d.log" 2>&1; then
    ok "engine $r: $(tail -n 1 "$d.log")"
  else
    bad "engine $r: $(tail -n 2 "$d.log")"
  fi
done
if python3 scripts/scale/check_engine.py prepare --run "$T/llama" --data runs/data --tokens 100 --out "$T/engine-llama" >"$T/engine-llama.log" 2>&1; then
  ok "llama: the run reloads into LlamaForCausalLM ($(wc -l <"$T/engine-llama/py.csv") NLLs)"
else
  bad "llama reload: $(tail -n 2 "$T/engine-llama.log")"
fi
fi

# 5. sinktrain reads the runs
if [[ $SECTIONS == *5* ]]; then
perl -0777 -ne 'print substr($_, 0, 20000)' runs/persuasion-30000-80000.txt >"$T/text.txt"
if bin/sinktrain eval stream --model "$T/killed" --text "$T/text.txt" --cache 1+63 --cache 0+64 --max-tokens 500 --json >"$T/eval.json" 2>"$T/eval.log" &&
  bin/sinktrain compare --model sink1="$T/killed" --model sink_logit="$T/sink_logit" --model softmax1="$T/softmax1" --text "$T/text.txt" \
    --cache 0+32 --cache 1+31 --cache recompute:32 --max-tokens 300 --out "$T/compare" >"$T/compare.log" 2>&1 &&
  bin/sinktrain inspect attention --model "$T/sink_logit" --text "$T/text.txt" --tokens 128 --out "$T/inspect" >"$T/inspect.log" 2>&1; then
  ok "eval stream / compare / inspect attention read the runs: $(tr '\n' ' ' <"$T/eval.json" | cut -c1-160)"
else
  bad "sinktrain readers: $(tail -n 2 "$T"/eval.log "$T"/compare.log "$T"/inspect.log)"
fi
fi

# 6. two processes vs one (CPU, gloo): same losses within float rounding
if [[ $SECTIONS == *6* ]]; then
DDP=(--data runs/data --config tiny --set max_steps=20 --set batch=7 --set grad_accum=2 --set sinks=1 --set log_interval=1 --set eval_interval=0 --set checkpoint_interval=0 --cpu --compile none)
if python3 $PT "${DDP[@]}" --out "$T/cpu1" >"$T/cpu1.log" 2>&1 &&
  CUDA_VISIBLE_DEVICES= python3 -m torch.distributed.run --standalone --nproc_per_node 2 $PT "${DDP[@]}" --out "$T/cpu2" >"$T/cpu2.log" 2>&1; then
  python3 - "$T/cpu1" "$T/cpu2" <<'PY' | tee -a "$SUMMARY" || fail=1
import json, sys
a, b = ([json.loads(l)["loss"] for l in open(d + "/metrics.jsonl")] for d in sys.argv[1:])
worst = max(abs(x - y) / abs(x) for x, y in zip(a, b)) if len(a) == len(b) == 20 else float("inf")
print(("ok   " if worst < 1e-4 else "FAIL ") + "2 processes vs 1 (batch 7, grad_accum 2): %d/%d steps, worst loss rel diff %.2e" % (len(a), len(b), worst))
sys.exit(0 if worst < 1e-4 else 1)
PY
else
  bad "2 processes vs 1: $(tail -n 2 "$T/cpu1.log" "$T/cpu2.log")"
fi
fi

# results: logs and the small outputs, no weights
tar -czf "$RESULTS/test-logs.tar.gz" --exclude='*.safetensors' --exclude='tokenizer.json' --exclude='*.arrow' "$T" 2>/dev/null || true
if [ "$fail" = 0 ]; then say "test-on-gpu: PASS"; else say "test-on-gpu: FAIL"; fi
exit $fail
