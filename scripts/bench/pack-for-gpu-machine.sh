#!/usr/bin/env bash
# Builds what `scripts/bench/torch2-on-gpu-machine.sh` needs on a machine
# without Go or OpenBLAS (the GPU machine): the sinktrain binary, the
# autograd test binary (BenchmarkSgemm), the infer test binary
# (BenchmarkSmolLM, for smollm_vs_hf.py), and OpenBLAS with its Fortran
# runtime from this machine's /usr/lib, compressed into one file:
#
#   scripts/bench/pack-for-gpu-machine.sh [PACK]   # default .device/torch2-pack.tar.xz
#
# The pack (≈ 15 MB) is carried to the GPU machine beside the working tree
# (an ignored path), which must stay under 64 MiB in all.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/setup.sh
pack="${1:-.device/torch2-pack.tar.xz}"
libdir=/usr/lib/x86_64-linux-gnu
stage="$(mktemp -d /tmp/sinktrain-pack.XXXXXX)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/torch2-pack/bin" "$stage/torch2-pack/lib" "$(dirname "$pack")"

flags=(-trimpath -buildvcs=true -ldflags=-s\ -w)
go build "${flags[@]}" -o "$stage/torch2-pack/bin/sinktrain" ./cmd/sinktrain
go test -c "${flags[@]}" -o "$stage/torch2-pack/bin/autograd.test" ./autograd
go test -c "${flags[@]}" -o "$stage/torch2-pack/bin/infer.test" ./infer
for so in libopenblas.so.0 libgfortran.so.5 libquadmath.so.0; do
  [ -e "$libdir/$so" ] || { echo "pack: $libdir/$so missing (apt-get install libopenblas-dev)" >&2; exit 1; }
  cp -L "$libdir/$so" "$stage/torch2-pack/lib/$so"
done
# The binaries must find every library they need in lib/ or in a base system.
for b in sinktrain autograd.test infer.test; do
  missing=$(LD_LIBRARY_PATH="$stage/torch2-pack/lib" ldd "$stage/torch2-pack/bin/$b" | grep 'not found' || true)
  [ -z "$missing" ] || { echo "pack: $b: $missing" >&2; exit 1; }
done
{
  echo "commit $(git rev-parse HEAD)$(git diff --quiet HEAD -- . ':!corpus' || echo ' (modified)')"
  echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) with $(go version | cut -d' ' -f3), $(dpkg-query -W -f='libopenblas0-pthread ${Version}' libopenblas0-pthread 2>/dev/null || true)"
  (cd "$stage/torch2-pack" && sha256sum bin/* lib/*)
} >"$stage/torch2-pack/MANIFEST"
tar -C "$stage" -cf - torch2-pack | xz -9 -T0 >"$pack.tmp"
mv "$pack.tmp" "$pack"
echo "pack: $pack ($(du -h "$pack" | cut -f1)); carry it with the working tree: run(carry=[\"$pack\"], command=\"bash scripts/bench/torch2-on-gpu-machine.sh\")"
