#!/usr/bin/env python3
"""sinktrain's pretraining recipe on PyTorch + transformers + accelerate.

    python3 scripts/scale/pretrain.py --data DIR --config reference --set sinks=1 --out RUN      # one GPU
    accelerate launch --num_processes 8 scripts/scale/pretrain.py --data DIR ... --out RUN       # data-parallel
    python3 scripts/scale/pretrain.py --out RUN --data DIR --resume                             # after a kill
    python3 scripts/scale/pretrain.py --print-config --config reference --set sinks=4           # no torch needed
    python3 scripts/scale/pretrain.py --print-defaults

Reads a dataset written by `sinktrain prepare` (manifest sha256 checked) and
the same training config as `sinktrain pretrain` (keys, defaults, presets in
configs/, --set); samples exactly as sinktrain's loader; writes a sinktrain run
directory that `sinktrain eval stream`, `compare` and `inspect attention`
read. See scripts/scale/README.md.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sinkscale import config as C  # noqa: E402
from sinkscale import dataset as D  # noqa: E402
from sinkscale import runfiles as R  # noqa: E402

PROG = "pretrain.py"
INSTALL = "pip install torch==2.11.* transformers==5.17.* accelerate==1.15.* pyarrow safetensors numpy (see scripts/scale/README.md)"


def parse(argv):
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--data", help="dataset directory written by sinktrain prepare")
    p.add_argument("--config", default="", help="preset name (%s) or JSON config file" % ", ".join(C.presets()))
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key (repeatable)")
    p.add_argument("--out", help="run directory (checkpoints, metrics.jsonl, final model)")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")
    p.add_argument("--print-config", action="store_true", help="print the resolved config as JSON and exit")
    p.add_argument("--print-defaults", action="store_true", help="print the default config as JSON and exit")
    p.add_argument("--compile", default="default", choices=["none", "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"],
                   help="torch.compile mode on CUDA (default: default; none = eager)")
    p.add_argument("--deterministic", action="store_true", help="torch.use_deterministic_algorithms where kernels allow it")
    p.add_argument("--cpu", action="store_true", help="train on the CPU (tests; several processes talk through gloo)")
    return p.parse_args(argv)


def resolve(a):
    """The config and the resume point: defaults (or the checkpoint's config), preset, --set."""
    base, state, ckdir = C.defaults(), None, None
    if a.resume:
        if not a.out:
            raise R.RunError("--resume needs --out")
        step, ckdir = R.latest_checkpoint(a.out)
        if ckdir is None:
            raise R.RunError("resume: no checkpoint-* directory in %s" % a.out)
        state = R.read_state(ckdir)
        stored = dict(base)
        try:
            C.apply_json(stored, os.path.join(ckdir, R.TRAINER_STATE_FILE) + " config", json.dumps(state["config"]))
        except (C.ConfigError, KeyError) as e:
            raise R.RunError("resume: %s" % e)
        base = stored
    elif a.out and not a.print_config:
        step, d = R.latest_checkpoint(a.out)
        if d is not None:
            raise R.RunError("%s already holds %s: add --resume to continue it, or choose another --out" % (a.out, os.path.basename(d)))
    c = C.resolve(base, a.config, a.set)
    if state is not None:
        diff = C.model_mismatch(c, base)
        if diff:
            raise R.RunError("resume: %s: the checkpoint does not match the configured model: %s" % (ckdir, diff))
    return c, state, ckdir


def main(argv):
    a = parse(argv)
    try:
        if a.print_defaults:
            print(json.dumps(C.to_json(C.defaults()), indent=2))
            return 0
        c, state, ckdir = resolve(a)
        if a.print_config:
            print(json.dumps(C.to_json(c), indent=2))
            return 0
        if not a.data:
            raise R.RunError("--data is required (a directory written by sinktrain prepare)")
        if not a.out:
            raise R.RunError("--out is required")
        a.manifest = D.verify(a.data) if os.path.isdir(a.data) else None
        if a.manifest is None:
            raise D.DataError("data: %s is not a directory (expected one written by sinktrain prepare)" % a.data)
        try:
            import torch  # noqa: F401
            import transformers  # noqa: F401
            import accelerate  # noqa: F401
            import pyarrow  # noqa: F401
        except ImportError as e:
            raise R.RunError("%s: %s" % (e, INSTALL))
        from sinkscale import train
        train.run(a, c, state, ckdir)
        return 0
    except (C.ConfigError, D.DataError, R.RunError) as e:
        print("%s: %s" % (PROG, e), file=sys.stderr)
        return 1
    except OSError as e:
        print("%s: %s: %s" % (PROG, e.filename or "", e.strerror or e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
