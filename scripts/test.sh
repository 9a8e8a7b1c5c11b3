#!/usr/bin/env bash
# The test command: installs what is missing, then runs vet, gofmt, every
# test, and a short run of each fuzz target (FUZZTIME, default 10s; 0 skips).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh

echo "== go vet"
go vet ./...
echo "== gofmt"
bad=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$bad" ]; then echo "gofmt would change: $bad" >&2; exit 1; fi
echo "== go test"
go test -count=1 -timeout 40m ./...

fuzztime=${FUZZTIME:-10s}
if [ "$fuzztime" != 0 ]; then
  echo "== fuzz ($fuzztime each)"
  log=$(mktemp)
  trap 'rm -f "$log"' EXIT
  for pkg in $(go list ./...); do
    dir=$(go list -f '{{.Dir}}' "$pkg")
    for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
      echo "-- $pkg $f"
      go test -run "^$" -fuzz "^$f\$" -fuzztime "$fuzztime" "$pkg" >"$log" 2>&1 || { cat "$log"; exit 1; }
      tail -n 1 "$log"
    done
  done
fi
