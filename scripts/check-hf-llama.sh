#!/usr/bin/env bash
# check-hf-llama.sh: sinktrain's Llama checkpoints in transformers (issue 20).
# Trains small Llama models with bin/sinktrain (GQA and MHA, tied and untied
# heads, sinks; the reference twin's shape), grows sinks with finetune
# --add-sinks (tied: the embedding only; untied: lm_head too), exports one
# to bfloat16, and checks every folder with scripts/check_hf.py: it loads as
# LlamaForCausalLM with every tensor (a tied head is the embedding), the
# tokenizer knows the sinks, and transformers' per-token NLL in float64
# equals `sinktrain eval stream --cache dense` within --tol 1e-4.
#
# Needs bin/sinktrain, runs/data and python3 with torch + transformers. On
# the GPU machine: carry runs/gpu-carry (scripts/scale/pack-carry.sh, here),
# then run
#
#   scripts/check-hf-llama.sh        # about a minute; the last line says PASS or FAIL
#
# Results in $OUT (default runs/gpu-results): check-hf-llama.txt (summary)
# and check-hf-llama-logs.tar.gz (every log, no weights).
source "$(dirname "${BASH_SOURCE[0]}")/scale/gpu-env.sh"
W=runs/hf-llama-check
rm -rf "$W"
mkdir -p "$W"
SUMMARY=$RESULTS/check-hf-llama.txt
: >"$SUMMARY"
fail=0
say() { echo "$*" | tee -a "$SUMMARY"; }

short=(--data runs/data --set max_steps=30 --set log_interval=10 --set eval_interval=0 --set checkpoint_interval=0 --set warmup=5)
step() { # NAME COMMAND...: run, log to $W/NAME.log
  local name=$1
  shift
  if "$@" >"$W/$name.log" 2>&1; then return 0; fi
  say "FAIL $name: $(tail -n 1 "$W/$name.log")"
  fail=1
  return 1
}
step gqa bin/sinktrain pretrain --config tiny-llama "${short[@]}" --out "$W/gqa"
step mha-tied-sink1 bin/sinktrain pretrain --config tiny-llama "${short[@]}" --set num_kv_heads=0 --set tie_embeddings=true --set sinks=1 --out "$W/mha-tied-sink1"
step reference-twin bin/sinktrain pretrain --config reference-llama "${short[@]}" --set max_steps=4 --set batch=4 --out "$W/reference-twin"
# runs/data reserves <|sink_0..3|>: adding 5 sinks gives new ids, so the vocabulary grows.
step ft-untied bin/sinktrain finetune --from "$W/gqa" --add-sinks 5 "${short[@]}" --set max_steps=5 --out "$W/ft-untied"
step ft-tied bin/sinktrain finetune --from "$W/mha-tied-sink1" --add-sinks 5 "${short[@]}" --set max_steps=5 --out "$W/ft-tied"
step bf16 bin/sinktrain convert --from "$W/ft-tied" --out "$W/bf16" --dtype bfloat16 --hf

for m in gqa mha-tied-sink1 reference-twin ft-untied ft-tied bf16; do
  d=$W/$m
  [ -f "$d/config.json" ] || continue
  # ids: the model's sinks, then 200 text ids that are not sinks
  python3 - "$d" >"$d.ids" <<'PY'
import json, sys
c = json.load(open(sys.argv[1] + "/config.json"))
sinks = (c.get("sinktrain") or {}).get("sink_ids") or []
ids = list(sinks)
i = 0
while len(ids) < len(sinks) + 200:
    t = (i * 37 + 11) % (c["vocab_size"] - 1) + 1
    if t not in sinks:
        ids.append(t)
    i += 1
print(" ".join(map(str, ids)))
PY
  if bin/sinktrain eval stream --model "$d" --ids "$d.ids" --cache dense --nll-out "$d.nll.csv" >"$d.eval.log" 2>&1 &&
    python3 scripts/check_hf.py "$d" --nll "$d.nll.csv" --ids "$d.ids" --tol 1e-4 >"$d.check.log" 2>&1; then
    say "ok   $m: $(grep -E '^(loading|nll)' "$d.check.log" | tr '\n' ' ')"
  else
    say "FAIL $m: $(tail -n 4 "$d.eval.log" "$d.check.log" 2>/dev/null | tr '\n' ' ')"
    fail=1
  fi
done
python3 - "$W" <<'PY' | tee -a "$SUMMARY" || fail=1
import json, sys
from safetensors import safe_open
W = sys.argv[1]
def shapes(m):
    with safe_open(W + "/" + m + "/model.safetensors", "pt") as f:
        return {k: f.get_slice(k).get_shape() for k in f.keys()}
ok = True
for base, ft, tied in (("gqa", "ft-untied", False), ("mha-tied-sink1", "ft-tied", True)):
    a, b = shapes(base), shapes(ft)
    va, vb = a["model.embed_tokens.weight"][0], b["model.embed_tokens.weight"][0]
    head = "lm_head.weight" in b
    good = vb > va and head != tied and (tied or b["lm_head.weight"][0] == vb)
    ok = ok and good
    print(("ok   " if good else "FAIL ") + "%s: vocab %d -> %d, lm_head %s (tied %s)" % (ft, va, vb, "grown" if head else "absent", tied))
sys.exit(0 if ok else 1)
PY
tar -czf "$RESULTS/check-hf-llama-logs.tar.gz" --exclude='*.safetensors' --exclude='*.arrow' "$W" 2>/dev/null || true
if [ "$fail" = 0 ]; then say "check-hf-llama: PASS"; else say "check-hf-llama: FAIL"; fi
exit $fail
