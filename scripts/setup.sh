#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks for sinktrain: OpenBLAS (cgo
# BLAS behind training) and the Go modules. Idempotent; sourced by the other
# scripts. Set SINKTRAIN_PUREGO=1 to skip OpenBLAS and build with -tags purego.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v go >/dev/null 2>&1; then
  for d in /usr/local/go/bin /usr/lib/go/bin; do [ -x "$d/go" ] && export PATH="$d:$PATH"; done
fi
command -v go >/dev/null 2>&1 || { echo "setup: Go 1.26 is required (https://go.dev/dl/); 'go' not found" >&2; exit 1; }

if [ "${SINKTRAIN_PUREGO:-0}" != 1 ] && ! { ls /usr/lib/*/libopenblas.so >/dev/null 2>&1 || [ -e /usr/lib/libopenblas.so ]; }; then
  echo "setup: installing libopenblas-dev" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends libopenblas-dev >/dev/null
fi
go mod download
