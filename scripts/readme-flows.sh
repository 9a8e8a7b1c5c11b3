#!/usr/bin/env bash
# readme-flows.sh — run every shell example of README.md, in order, the way
# a new user copy-pastes them, with tiny budgets, in a fresh copy of the
# repository's tracked files (so nothing of this checkout is touched).
#
# What is run: the lines of ```sh blocks and of indented code blocks whose
# first word is sinktrain, bin/sinktrain, go, scripts/…, python3, curl or
# printf (continuation lines ending in \ joined); Go and JavaScript
# snippets are not shell. Every `sinktrain`/`bin/sinktrain` goes through a
# wrapper that appends tiny budgets (the env hook):
#   TRAIN_ARGS   appended to pretrain and finetune (default: --set max_steps=3
#                --set batch=2 --set eval_tokens=256 --set log_interval=1
#                --set checkpoint_interval=0); later --set wins
#   EVAL_ARGS    appended to eval stream and compare (default: --max-tokens 300)
# scripts/quickstart.sh runs with TRAIN_SET/EVAL_TOKENS to the same effect.
# Skipped, saying so: scripts/test.sh (it runs this script), python3 lines
# when transformers is not importable. `sinktrain serve` lines start the
# server in the background on a free port (README's 127.0.0.1:8080 is
# rewritten to it, also in curl lines), wait for /healthz and stop it at the
# next server or at the end. The corpus of scripts/get-corpus.sh is copied
# from this checkout's corpus/ when it is complete (else downloaded).
#
#   scripts/readme-flows.sh            KEEP=1 keeps the work folder
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD
export SINKTRAIN_NO_CLIENTS=${SINKTRAIN_NO_CLIENTS:-1}
source scripts/setup.sh

work=$(mktemp -d /tmp/sinktrain-readme.XXXXXX)
server=""
cleanup() {
  rc=$?
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ] || [ "$rc" != 0 ]; then echo "readme-flows: work folder $work" >&2; else rm -rf "$work"; fi
  exit "$rc"
}
trap cleanup EXIT
copy=$work/sinktrain
mkdir -p "$copy"
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$copy"
if [ -f corpus/.complete ]; then cp -r corpus "$copy/corpus"; fi

# The wrapper: the real binary (built by the README's own go build, or
# here when a block runs sinktrain first) plus the tiny budgets.
train_args=${TRAIN_ARGS:---set max_steps=3 --set batch=2 --set eval_tokens=256 --set log_interval=1 --set checkpoint_interval=0}
eval_args=${EVAL_ARGS:---max-tokens 300}
mkdir -p "$work/wrap"
cat >"$work/wrap/sinktrain" <<EOF
#!/usr/bin/env bash
bin=$copy/bin/sinktrain
[ -x "\$bin" ] || (cd "$copy" && go build -o bin/sinktrain ./cmd/sinktrain)
case "\$1 \${2:-}" in
  pretrain*|finetune*) exec "\$bin" "\$@" $train_args ;;
  "eval stream"|"compare --"*) exec "\$bin" "\$@" $eval_args ;;
esac
exec "\$bin" "\$@"
EOF
chmod +x "$work/wrap/sinktrain"
export PATH="$work/wrap:$PATH"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# Extract the commands (one per line, continuations joined).
awk '
  /^```/ { if (fence) { fence = 0 } else { fence = ($0 ~ /^```(sh|bash)$/) }; next }
  fence { print; next }
  /^    +[^ ]/ && (prev == "" || inblock) { inblock = 1; sub(/^ +/, ""); print; prev = $0; next }
  { inblock = 0; prev = $0 }
' README.md | awk '
  { line = (cont ? cont " " : "") $0 }
  /\\$/ { sub(/\\$/, "", line); cont = line; next }
  { cont = ""; print line }
' | grep -E '^(sinktrain|bin/sinktrain|go|scripts/[^ ]+|python3|curl|printf) ' >"$work/commands" || true
grep -qE '^(scripts/test\.sh|bin/sinktrain|sinktrain) ' "$work/commands" || { echo "readme-flows: no commands found in README.md" >&2; exit 1; }

has_transformers=0
python3 -c 'import transformers' 2>/dev/null && has_transformers=1

stop_server() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=""; fi
}

cd "$copy"
n=0
while IFS= read -r cmd; do
  cmd=${cmd//127.0.0.1:8080/127.0.0.1:$port}
  cmd=$(sed -E 's#(^|\| *)bin/sinktrain #\1sinktrain #g' <<<"$cmd")
  case "$cmd" in
    scripts/test.sh*) echo "readme-flows: skip (runs this script): $cmd"; continue ;;
    python3*) if [ "$has_transformers" = 0 ]; then echo "readme-flows: skip (no transformers here): $cmd"; continue; fi ;;
    scripts/quickstart.sh*) cmd="TRAIN_SET='max_steps=3 batch=2' EVAL_TOKENS=300 $cmd" ;;
  esac
  n=$((n + 1))
  echo "== readme-flows $n: $cmd"
  if [[ "$cmd" == "sinktrain serve "* ]]; then
    stop_server
    cmd=${cmd%%#*} # the comment may name --addr
    [[ "$cmd" == *--addr* ]] || cmd="$cmd --addr 127.0.0.1:$port"
    bash -c "$cmd" >"$work/serve-$n.log" 2>&1 &
    server=$!
    for _ in $(seq 1 200); do
      curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
      kill -0 "$server" 2>/dev/null || { cat "$work/serve-$n.log" >&2; echo "readme-flows: the server exited" >&2; exit 1; }
      sleep 0.1
    done
    continue
  fi
  bash -euo pipefail -c "$cmd" || { echo "readme-flows: failed: $cmd" >&2; exit 1; }
done <"$work/commands"
stop_server
echo "readme-flows: $n README commands ran in order"
