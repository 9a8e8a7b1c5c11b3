"""Training samples exactly as sinktrain builds them (data/loader.go, sinktoken/sink.go).

Row r of loader step s starts at offset(seed, n, block, s, r): splitmix64's
finalizer applied three times, then Lemire's multiply-high into the number of
valid offsets. The CPU trainer asks the loader for one step per micro-batch
(optimizer step s, micro-batch m read loader step s*grad_accum + m) and splits
each micro-batch's rows between its workers by row index; this recipe splits
them between GPUs the same way. A sample is [sink ids] + block_size text
tokens; its labels are the ids with every sink replaced by -100 (the model
shifts: logits[t] predicts labels[t+1]), so the first text token is predicted
from the last sink.

Stdlib only. Run as a script it prints offsets and samples as JSON for the Go
cross-check (train/scale_test.go):

    python3 sampling.py --tokens N --block B --seed S --steps 0,1,7 --rows 4 [--sinks 1,2] [--segments 5,100,...]
"""

import bisect
import json
import sys

MASK64 = (1 << 64) - 1
IGNORE_INDEX = -100


def ld_mix(x):
    """splitmix64's finalizer (data/loader.go ldMix), on uint64."""
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def offset(seed, n_tokens, block, step, row):
    """Loader.Offset: where row `row` of loader step `step` starts, uniform in [0, n-block]."""
    h = ld_mix(ld_mix(ld_mix(seed & MASK64) ^ (step & MASK64)) ^ (row & MASK64))
    span = n_tokens - block + 1
    return (h * span) >> 64


def chunk_rows(batch, rank, world):
    """Rows [lo, hi) of a batch that worker/rank `rank` of `world` takes (train.newTrainer)."""
    lo = 0
    for i in range(world):
        rows = batch // world + (1 if i < batch % world else 0)
        if i == rank:
            return lo, lo + rows
        lo += rows
    raise ValueError("rank %d of %d" % (rank, world))


def loader_step(opt_step, micro, grad_accum):
    """The loader step micro-batch `micro` of optimizer step `opt_step` reads."""
    return opt_step * grad_accum + micro


def sample(sinks, block):
    """sinktoken.Sample: the sink ids followed by the text block."""
    return list(sinks) + list(block)


def labels(ids, sinks):
    """sinktoken.Labels: each position's own id, sink ids replaced by -100."""
    s = set(sinks)
    return [IGNORE_INDEX if i in s else i for i in ids]


def scored_per_row(k, block):
    """Targets one sample scores: block-1 text->text, plus the first text token when k > 0."""
    return block if k > 0 else block - 1


class Tokens:
    """A packed token stream made of segments (one per Arrow record batch),
    read in place (data/loader_tokens.go). Segments are sequences that support
    slicing (lists, numpy arrays over memory-mapped shards)."""

    def __init__(self, segments):
        self.segs = [s for s in segments if len(s)]
        self.starts = [0]
        for s in self.segs:
            self.starts.append(self.starts[-1] + len(s))

    def __len__(self):
        return self.starts[-1]

    def window(self, start, n):
        """Tokens [start, start+n) as a list of pieces (views), across segment boundaries."""
        if start < 0 or n < 0 or start + n > len(self):
            raise IndexError("Tokens.window out of range")
        out = []
        i = bisect.bisect_right(self.starts, start) - 1
        done = 0
        while done < n:
            a = start + done - self.starts[i]
            piece = self.segs[i][a:a + n - done]
            out.append(piece)
            done += len(piece)
            i += 1
        return out


def window_list(tokens, start, n):
    return [int(x) for p in tokens.window(start, n) for x in p]


def _main(argv):
    import argparse
    p = argparse.ArgumentParser(description="print sinktrain's training samples for a token=index stream")
    p.add_argument("--tokens", type=int, required=True, help="stream length (token i has id i)")
    p.add_argument("--block", type=int, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--steps", required=True, help="comma-separated loader steps")
    p.add_argument("--rows", type=int, required=True, help="rows 0..N-1 of each step")
    p.add_argument("--sinks", default="", help="comma-separated sink ids")
    p.add_argument("--segments", default="", help="split the stream into segments of these lengths (the rest last)")
    a = p.parse_args(argv)
    sinks = [int(x) for x in a.sinks.split(",") if x]
    segs, pos = [], 0
    for ln in (int(x) for x in a.segments.split(",") if x):
        segs.append(list(range(pos, min(pos + ln, a.tokens))))
        pos = min(pos + ln, a.tokens)
    segs.append(list(range(pos, a.tokens)))
    toks = Tokens(segs)
    out = {"offsets": [], "samples": [], "labels": []}
    for st in (int(x) for x in a.steps.split(",")):
        offs = [offset(a.seed, len(toks), a.block, st, r) for r in range(a.rows)]
        out["offsets"].append(offs)
        for o in offs:
            ids = sample(sinks, window_list(toks, o, a.block))
            out["samples"].append(ids)
            out["labels"].append(labels(ids, sinks))
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    _main(sys.argv[1:])
