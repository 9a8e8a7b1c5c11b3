#!/usr/bin/env python3
"""Check the recipe's model against sinktrain's streaming engine, token by token.

    python3 scripts/scale/check_engine.py prepare --run RUN --data DIR --tokens N --out DIR [--randomize-sink-logits]
    bin/sinktrain eval stream --model DIR/model --ids DIR/ids.txt --cache dense --nll-out DIR/go.csv
    python3 scripts/scale/check_engine.py compare --out DIR [--tol 1e-3]

prepare loads RUN (a run written by pretrain.py) into transformers' model,
optionally sets every sink logit to a random value (so that the check sees
them), writes that model as DIR/model with the recipe's writer, the first N
val tokens with the model's sinks prepended as DIR/ids.txt, and the model's
float32 per-token NLL as DIR/py.csv (index,token_id,nll as sinktrain writes).
compare prints the largest difference and fails above --tol.
"""

import argparse
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sinkscale import config as C  # noqa: E402
from sinkscale import runfiles as R  # noqa: E402


def prepare(a):
    import torch
    from sinkscale import torchmodel as M
    from sinkscale.dataset import Dataset
    with open(os.path.join(a.run, R.CONFIG_FILE)) as f:
        cj = json.load(f)
    c = C.defaults()
    C.apply_json(c, a.run + " config.json sinktrain.train", json.dumps(cj["sinktrain"]["train"]))
    with open(os.path.join(a.run, R.TOKENIZER_FILE), "rb") as f:
        tok = R.TokenizerInfo(f.read(), os.path.join(a.run, R.TOKENIZER_FILE))
    sinks = tok.sink_ids(c["sinks"])
    model = M.build(c, tok.vocab_size, sinks, tok.eos_id(), tok.eos_id())
    M.load_tensors(model, c, tok.vocab_size, os.path.join(a.run, R.WEIGHTS_FILE))
    if a.randomize_sink_logits:
        g = torch.Generator().manual_seed(7)
        with torch.no_grad():
            for n, p in model.named_parameters():
                if n.endswith("sink_logits"):
                    p.copy_(torch.randn(p.shape, generator=g) * 2)
    os.makedirs(a.out, exist_ok=True)
    R.save(os.path.join(a.out, "model"), R.model_files(c, tok, sinks, M.state_tensors(model, c, tok.vocab_size), C.to_json(c)))
    val = Dataset(a.data).split("val")
    ids = sinks + [int(x) for p in val.window(0, a.tokens) for x in p]
    with open(os.path.join(a.out, "ids.txt"), "w") as f:
        f.write(" ".join(map(str, ids)) + "\n")
    model.eval()
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids]), use_cache=False).logits[0].double()
    lp = torch.log_softmax(logits, dim=-1)
    with open(os.path.join(a.out, "py.csv"), "w") as f:
        f.write("index,token_id,nll\n")
        for i in range(1, len(ids)):
            if ids[i] in sinks:
                continue
            f.write("%d,%d,%.9g\n" % (i, ids[i], -float(lp[i - 1, ids[i]])))


def read_csv(p):
    out = {}
    with open(p) as f:
        next(f)
        for ln in f:
            i, t, v = ln.strip().split(",")
            out[int(i)] = (int(t), float(v))
    return out


def compare(a):
    py, go = read_csv(os.path.join(a.out, "py.csv")), read_csv(os.path.join(a.out, "go.csv"))
    if set(py) != set(go):
        print("check_engine: scored positions differ: %d in py.csv, %d in go.csv" % (len(py), len(go)))
        return 1
    worst, at = 0.0, None
    for i in py:
        if py[i][0] != go[i][0]:
            print("check_engine: token at %d is %d in py.csv, %d in go.csv" % (i, py[i][0], go[i][0]))
            return 1
        d = abs(py[i][1] - go[i][1])
        if d > worst:
            worst, at = d, i
    mean_py = sum(v for _, v in py.values()) / len(py)
    mean_go = sum(v for _, v in go.values()) / len(go)
    print("check_engine: %d tokens, mean NLL %.6f (recipe) vs %.6f (sinktrain), largest difference %.2e at %s"
          % (len(py), mean_py, mean_go, worst, at))
    return 0 if worst <= a.tol and math.isfinite(worst) else 1


def main(argv):
    p = argparse.ArgumentParser(prog="check_engine.py", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("prepare")
    q.add_argument("--run", required=True)
    q.add_argument("--data", required=True)
    q.add_argument("--tokens", type=int, default=300)
    q.add_argument("--out", required=True)
    q.add_argument("--randomize-sink-logits", action="store_true")
    q = sub.add_parser("compare")
    q.add_argument("--out", required=True)
    q.add_argument("--tol", type=float, default=1e-3)
    a = p.parse_args(argv)
    if a.cmd == "prepare":
        prepare(a)
        return 0
    return compare(a)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
