#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks for sinktrain: OpenBLAS (cgo
# BLAS behind training), the Go modules, and the real clients the server's
# tests run (curl, Node.js with the OpenAI SDK and playwright-core from
# serve/testdata/client/package-lock.json, Debian's Chromium). Idempotent;
# sourced by the other scripts. Set SINKTRAIN_PUREGO=1 to skip OpenBLAS and
# build with -tags purego; SINKTRAIN_NO_CLIENTS=1 skips the clients (the
# serve tests then fail).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v go >/dev/null 2>&1; then
  for d in /usr/local/go/bin /usr/lib/go/bin; do [ -x "$d/go" ] && export PATH="$d:$PATH"; done
fi
command -v go >/dev/null 2>&1 || { echo "setup: Go 1.26 is required (https://go.dev/dl/); 'go' not found" >&2; exit 1; }

SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
apt_updated=0
apt_install() {
  echo "setup: installing $*" >&2
  if [ "$apt_updated" = 0 ]; then $SUDO apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if [ "${SINKTRAIN_PUREGO:-0}" != 1 ] && ! { ls /usr/lib/*/libopenblas.so >/dev/null 2>&1 || [ -e /usr/lib/libopenblas.so ]; }; then
  apt_install libopenblas-dev
fi
go mod download

if [ "${SINKTRAIN_NO_CLIENTS:-0}" != 1 ]; then
  missing=()
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  command -v chromium >/dev/null 2>&1 || missing+=(chromium fonts-dejavu-core)
  command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  [ ${#missing[@]} = 0 ] || apt_install "${missing[@]}"
  client=serve/testdata/client
  # node_modules/.sinktrain-lock is the lock file it was installed from.
  if ! cmp -s "$client/package-lock.json" "$client/node_modules/.sinktrain-lock" 2>/dev/null; then
    echo "setup: npm ci in $client" >&2
    (cd "$client" && npm ci --no-audit --no-fund --loglevel=error >/dev/null && cp package-lock.json node_modules/.sinktrain-lock)
  fi
fi
