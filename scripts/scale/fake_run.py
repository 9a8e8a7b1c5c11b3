#!/usr/bin/env python3
"""Write a sinktrain run directory with freshly initialised weights, without torch.

    python3 scripts/scale/fake_run.py --data DIR --config tiny --set sinks=1 --out RUN [--step N]

The layout check of the recipe's writer (cmd/sinktrain/scale_test.go): the same
functions the trainer uses write config.json, model.safetensors, the tokenizer
files, metrics.jsonl and RUN/checkpoint-NNNNNN (zero AdamW moments, trainer
state at step N); weights follow model.Init's distributions from Python's
random. Prints {"tensors": {name: sum of values}, "sink_ids": [...]} so that a
reader can check every value arrived.
"""

import argparse
import json
import os
import random
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sinkscale import config as C  # noqa: E402
from sinkscale import dataset as D  # noqa: E402
from sinkscale import runfiles as R  # noqa: E402


def main(argv):
    p = argparse.ArgumentParser(prog="fake_run.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--config", default="")
    p.add_argument("--set", action="append", default=[])
    p.add_argument("--out", required=True)
    p.add_argument("--step", type=int, default=1)
    a = p.parse_args(argv)
    try:
        c = C.resolve(C.defaults(), a.config, a.set)
        m = D.verify(a.data)
        tp = os.path.join(a.data, m["tokenizer"]["file"])
        with open(tp, "rb") as f:
            tok = R.TokenizerInfo(f.read(), tp)
        sinks = tok.sink_ids(c["sinks"])
        rng = random.Random(c["seed"])
        tensors, sums, moments = {}, {}, {}
        for name, shape, _ in R.param_specs(c, tok.vocab_size):
            n = 1
            for d in shape:
                n *= d
            kind, std = R.init_rule(name, c)
            if kind == "ones":
                vals = [1.0] * n
            elif kind == "zeros":
                # sink logits get values, so that a reader that drops them is caught
                vals = [rng.gauss(0, 1) for _ in range(n)] if name.endswith("sink_logits") else [0.0] * n
            else:
                vals = [rng.gauss(0, std) for _ in range(n)]
            b = struct.pack("<%df" % n, *vals)
            tensors[name] = (shape, b)
            sums[name] = sum(struct.unpack("<%df" % n, b))
            moments[name] = (shape, bytes(4 * n), bytes(4 * n))
        os.makedirs(a.out, exist_ok=True)
        model = R.model_files(c, tok, sinks, tensors, C.to_json(c))
        state = R.trainer_state(a.step, a.step * C.tokens_per_step(c), C.steps(c), c, m["shards"][0]["tokens"], a.step, 1)
        R.write_checkpoint(a.out, a.step, model, R.optimizer_writer(moments, a.step), state, c["keep_checkpoints"])
        with open(os.path.join(a.out, R.METRICS_FILE), "w") as f:
            f.write(R.metric_line(a.step, a.step * C.tokens_per_step(c), 6.0, C.lr_at(c, a.step - 1, C.steps(c)), 1000.0, 1.5, 5.9))
        json.dump({"tensors": sums, "sink_ids": sinks}, sys.stdout)
        sys.stdout.write("\n")
        return 0
    except (C.ConfigError, D.DataError, R.RunError) as e:
        print("fake_run.py: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
