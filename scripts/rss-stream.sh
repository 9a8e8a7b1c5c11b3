#!/usr/bin/env bash
# Peak RSS of a 1,000,000-token stream vs a 10,000-token stream through the
# tiny model (configs/tiny.json shape, random weights) under a 4+252 cache,
# each in its own process (ru_maxrss). Fails if the long stream needs more
# than 5% more memory. Takes a minute or two. (go test runs the same check
# with 200,000 tokens.)
set -euo pipefail
cd "$(dirname "$0")/.."
SINKTRAIN_RSS_TOKENS=1000000 go test ./infer/ -run '^TestStreamMemoryFlat$' -v -count=1 -timeout 30m
