"""The training configuration: the same keys, defaults, parsing and checks as
sinktrain's train.Config (train/config.go).

One block of defaults (DEFAULTS); presets (configs/*.json) and --set key=value
override some keys; an unknown key is an error. Keys in RUNTIME are accepted
(sinktrain's presets and --set know them) but describe the machine, not the
run: they are never stored and this recipe ignores them.
"""

import json
import math
import os
import re

# Every stored key with its default, in train.Config's order. The types are
# those of the Go fields: int, float, bool, str, "uint64" (seed) and
# "pair" ([2]float64, betas).
DEFAULTS = {
    # Model shape. The vocabulary always comes from the tokenizer.
    "arch": "gpt_neox",  # gpt_neox | llama
    "hidden_size": 256,  # D
    "num_layers": 4,  # L
    "num_heads": 4,  # H, divides D
    "num_kv_heads": 0,  # llama: key/value heads (0 = num_heads), divides H
    "intermediate_size": 0,  # F, MLP width (0 -> 4*D)
    "rotary_pct": 0.25,  # gpt_neox: fraction of each head's dims rotated (llama: full RoPE)
    "rotary_base": 10000.0,  # RoPE theta (llama: rope_theta)
    "parallel_residual": True,  # gpt_neox: Pythia residual
    "layer_norm_eps": 1e-5,  # llama: rms_norm_eps
    "max_position_embeddings": 2048,
    "tie_embeddings": False,  # llama only: lm_head shares embed_tokens
    "sinks": 0,  # k >= 0 sink tokens prepended to every sample
    "attention": "softmax",  # softmax | softmax1 | sink_logit
    # The BPE vocabulary sinktrain trains when --data is omitted.
    "vocab_size": 4096,
    # Batches: a step sees batch*grad_accum rows of block_size text tokens.
    "block_size": 256,
    "batch": 32,
    "grad_accum": 1,
    # AdamW with decoupled weight decay (not on norms, biases, embeddings).
    "lr": 1e-3,
    "min_lr": 1e-4,
    "warmup": 100,
    "decay": "cosine",  # cosine | linear | constant
    "weight_decay": 0.1,
    "betas": [0.9, 0.95],
    "eps": 1e-8,
    "grad_clip": 1.0,  # global-norm clip (0 = off)
    # Length: max_tokens > 0 wins: steps = ceil(max_tokens / tokens per step).
    "max_steps": 1000,
    "max_tokens": 0,
    "eval_interval": 200,
    "eval_tokens": 65536,
    "checkpoint_interval": 250,
    "keep_checkpoints": 3,
    "log_interval": 10,
    "seed": 1337,
}

TYPES = {
    "arch": str, "hidden_size": int, "num_layers": int, "num_heads": int, "num_kv_heads": int,
    "intermediate_size": int, "rotary_pct": float, "rotary_base": float, "parallel_residual": bool,
    "layer_norm_eps": float, "max_position_embeddings": int, "tie_embeddings": bool, "sinks": int,
    "attention": str, "vocab_size": int, "block_size": int, "batch": int, "grad_accum": int,
    "lr": float, "min_lr": float, "warmup": int, "decay": str, "weight_decay": float, "betas": "pair",
    "eps": float, "grad_clip": float, "max_steps": int, "max_tokens": int, "eval_interval": int,
    "eval_tokens": int, "checkpoint_interval": int, "keep_checkpoints": int, "log_interval": int,
    "seed": "uint64",
}

# Runtime settings sinktrain's CPU trainer takes as config keys: accepted, ignored.
RUNTIME = {"workers": int}

# The keys that describe the model; a checkpoint must agree on them (train/config.go modelKeys).
MODEL_KEYS = ["arch", "hidden_size", "num_layers", "num_heads", "num_kv_heads", "intermediate_size",
              "rotary_pct", "rotary_base", "parallel_residual", "layer_norm_eps",
              "max_position_embeddings", "tie_embeddings", "sinks", "attention"]

ATTENTIONS = ("softmax", "softmax1", "sink_logit")
ARCHS = ("gpt_neox", "llama")
MAX_TOKENS_PER_STEP = 1 << 40

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
PRESETS_DIR = os.path.join(REPO, "configs")


class ConfigError(ValueError):
    """A bad config key or value; str() is the one-line message."""


def defaults():
    c = dict(DEFAULTS)
    c["betas"] = list(DEFAULTS["betas"])
    return c


def keys():
    return list(DEFAULTS) + list(RUNTIME)


def _unknown(key):
    return ConfigError("unknown config key %r (known: %s)" % (key, ", ".join(keys())))


_GO_BOOL = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
            "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}
_GO_FLOAT = re.compile(r"^[+-]?(\d*\.?\d*([eE][+-]?\d+)?|inf(inity)?|nan)$", re.I)


def _go_float(s):
    """strconv.ParseFloat for decimal input (Python's float accepts a few more spellings)."""
    if not _GO_FLOAT.match(s) or not re.search(r"\d|inf|nan", s, re.I) or re.match(r"^[+-]?\.?[eE]", s):
        raise ValueError(s)
    return float(s)


def _parse_int(s):
    """train.parseInt: integers, also written 1e6 or 1_000_000."""
    s = s.replace("_", "")
    if re.fullmatch(r"[+-]?\d+", s):
        return int(s)
    x = _go_float(s)
    if math.isnan(x) or math.isinf(x) or x != math.trunc(x) or abs(x) > 2 ** 62:
        raise ValueError("not an integer")
    return int(x)


def set_key(c, key, value):
    """Config.Set: parse value for key by the key's type ("lr=3e-4", "betas=0.9,0.95")."""
    t = TYPES.get(key) or RUNTIME.get(key)
    if t is None:
        raise _unknown(key)

    def bad(want):
        return ConfigError("config key %s: %r is not %s" % (key, value, want))

    s = value.strip()
    try:
        if t is str:
            v = s
        elif t is bool:
            if s not in _GO_BOOL:
                raise bad("a boolean")
            v = _GO_BOOL[s]
        elif t is int:
            v = _parse_int(s)
            if not -(2 ** 63) <= v < 2 ** 63:
                raise ValueError(s)
        elif t == "uint64":
            if not re.fullmatch(r"\d+", s) or int(s) >= 2 ** 64:
                raise bad("a non-negative integer")
            v = int(s)
        elif t is float:
            v = _go_float(s)
        else:  # pair
            parts = s.strip("[]").split(",")
            if len(parts) != 2:
                raise bad("2 comma-separated numbers")
            try:
                v = [_go_float(p.strip()) for p in parts]
            except ValueError:
                raise bad("2 comma-separated numbers")
    except ConfigError:
        raise
    except ValueError:
        raise bad({int: "an integer", float: "a number"}[t])
    if key in RUNTIME:
        return
    c[key] = v


def set_all(c, sets):
    for kv in sets:
        k, sep, v = kv.partition("=")
        if not sep:
            raise ConfigError("--set %r: expected key=value" % kv)
        try:
            set_key(c, k.strip(), v)
        except ConfigError as e:
            raise ConfigError("--set: %s" % e)


def _json_type(t):
    return {int: "an integer", "uint64": "an integer", float: "a number", bool: "a boolean",
            "pair": "a list of 2 numbers", str: "string"}[t]


def apply_json(c, name, text):
    """Config.ApplyJSON: override the keys of a JSON object (a preset or a stored config)."""
    try:
        m = json.loads(text)
    except ValueError as e:
        raise ConfigError("config %s: %s" % (name, e))
    if not isinstance(m, dict):
        raise ConfigError("config %s: expected a JSON object" % name)
    for k in sorted(m):
        t = TYPES.get(k) or RUNTIME.get(k)
        if t is None:
            raise ConfigError("config %s: %s" % (name, _unknown(k)))
        v = m[k]
        if v is None:  # encoding/json leaves the field as it was
            continue
        ok = {
            int: lambda x: isinstance(x, int) and not isinstance(x, bool),
            "uint64": lambda x: isinstance(x, int) and not isinstance(x, bool) and 0 <= x < 2 ** 64,
            float: lambda x: isinstance(x, (int, float)) and not isinstance(x, bool),
            bool: lambda x: isinstance(x, bool),
            str: lambda x: isinstance(x, str),
            "pair": lambda x: isinstance(x, list) and len(x) == 2 and all(
                isinstance(y, (int, float)) and not isinstance(y, bool) for y in x),
        }[t](v)
        if not ok:
            raise ConfigError("config %s: key %s: %s is not %s" % (name, k, json.dumps(v), _json_type(t)))
        if k in RUNTIME:
            continue
        if t is float:
            v = float(v)
        elif t == "pair":
            v = [float(y) for y in v]
        c[k] = v


def presets():
    try:
        return sorted(f[:-5] for f in os.listdir(PRESETS_DIR) if f.endswith(".json"))
    except OSError:
        return []


def apply_preset(c, name_or_path):
    """Config.ApplyPreset: an embedded preset name (configs/NAME.json) or a JSON file."""
    p = os.path.join(PRESETS_DIR, name_or_path + ".json")
    if os.sep not in name_or_path and os.path.isfile(p):
        path = p
    else:
        path = name_or_path
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        if not os.path.splitext(name_or_path)[1]:
            raise ConfigError("config %s: no such preset (known: %s) or file" % (name_or_path, ", ".join(presets())))
        raise ConfigError("config: open %s: no such file or directory" % name_or_path)
    except OSError as e:
        raise ConfigError("config: %s" % e)
    apply_json(c, name_or_path, text)


def resolve(base, preset, sets):
    """train.Resolve: base, then the preset (if any), then the overrides; validated."""
    c = dict(base)
    c["betas"] = list(base["betas"])
    if preset:
        apply_preset(c, preset)
    set_all(c, sets)
    validate(c)
    return c


def _finite(x):
    return not (math.isnan(x) or math.isinf(x))


def _fmt(x):
    """Go's %v of a float64."""
    if isinstance(x, float) and x == math.trunc(x) and abs(x) < 1e21:
        return "%d" % x
    return repr(x)


def validate(c):
    """Config.Validate: one error naming the first bad key."""
    for k in ("hidden_size", "num_layers", "num_heads", "block_size", "batch", "grad_accum",
              "log_interval", "vocab_size", "max_position_embeddings"):
        if c[k] <= 0:
            raise ConfigError("config key %s = %d, expected a positive integer" % (k, c[k]))
    for k in ("intermediate_size", "sinks", "warmup", "max_steps", "max_tokens", "eval_interval",
              "eval_tokens", "checkpoint_interval", "keep_checkpoints", "num_kv_heads"):
        if c[k] < 0:
            raise ConfigError("config key %s = %d, expected >= 0" % (k, c[k]))
    if c["max_steps"] == 0 and c["max_tokens"] == 0:
        raise ConfigError("config: max_steps and max_tokens are both 0, expected one of them > 0")
    if c["hidden_size"] % c["num_heads"] != 0:
        raise ConfigError("config key hidden_size = %d is not divisible by num_heads = %d" % (c["hidden_size"], c["num_heads"]))
    if c["arch"] not in ARCHS:
        raise ConfigError("config key arch = %r, expected gpt_neox or llama" % c["arch"])
    if c["attention"] not in ATTENTIONS and c["attention"] != "":
        raise ConfigError("config key attention: attention %r is not supported, expected softmax, softmax1 or sink_logit" % c["attention"])
    if c["decay"] not in ("cosine", "linear", "constant"):
        raise ConfigError("config key decay = %r, expected cosine, linear or constant" % c["decay"])
    if not (c["lr"] > 0) or not _finite(c["lr"]):
        raise ConfigError("config key lr = %s, expected > 0" % _fmt(c["lr"]))
    if not (0 <= c["min_lr"] <= c["lr"]):
        raise ConfigError("config key min_lr = %s, expected in [0, lr = %s]" % (_fmt(c["min_lr"]), _fmt(c["lr"])))
    for i, b in enumerate(c["betas"]):
        if not (0 <= b < 1):
            raise ConfigError("config key betas[%d] = %s, expected in [0, 1)" % (i, _fmt(b)))
    for k, ok, want in (
        ("eps", c["eps"] > 0 and _finite(c["eps"]), "> 0"),
        ("weight_decay", c["weight_decay"] >= 0 and _finite(c["weight_decay"]), ">= 0"),
        ("grad_clip", c["grad_clip"] >= 0 and _finite(c["grad_clip"]), ">= 0 (0 = off)"),
        ("layer_norm_eps", c["layer_norm_eps"] > 0, "> 0"),
        ("rotary_base", c["rotary_base"] > 0, "> 0"),
    ):
        if not ok:
            raise ConfigError("config key %s = %s, expected %s" % (k, _fmt(c[k]), want))
    if c["block_size"] > c["max_position_embeddings"] or c["sinks"] > c["max_position_embeddings"] - c["block_size"]:
        raise ConfigError("config: sinks + block_size = %d + %d exceeds max_position_embeddings = %d"
                          % (c["sinks"], c["block_size"], c["max_position_embeddings"]))
    tps = float(c["batch"]) * c["grad_accum"] * c["block_size"]
    if tps > MAX_TOKENS_PER_STEP:
        raise ConfigError("config: batch × grad_accum × block_size = %.4g tokens per step, expected at most %d" % (tps, MAX_TOKENS_PER_STEP))
    if c["max_tokens"] > (2 ** 63 - 1) // 2 or c["max_steps"] > 2 ** 31 - 1:
        raise ConfigError("config: max_tokens = %d or max_steps = %d is beyond any run, expected max_tokens ≤ 2^62 and max_steps ≤ 2^31-1" % (c["max_tokens"], c["max_steps"]))
    # The model's own checks (model.Config.Validate).
    hd = c["hidden_size"] // c["num_heads"]
    if c["arch"] == "gpt_neox":
        if not (0 < c["rotary_pct"] <= 1):
            raise ConfigError("config: rotary_pct (partial_rotary_factor) = %s, expected a value in (0, 1]" % _fmt(c["rotary_pct"]))
        r = int(hd * c["rotary_pct"])
        if r < 2 or r % 2:
            raise ConfigError("config: rotary dims int(head_dim %d * rotary_pct %s) = %d, expected an even number >= 2" % (hd, _fmt(c["rotary_pct"]), r))
        if c["tie_embeddings"]:
            raise ConfigError("config key tie_embeddings = true needs arch = llama (GPT-NeoX keeps embed_out separate)")
        if c["num_kv_heads"] not in (0, c["num_heads"]):
            raise ConfigError("config key num_kv_heads = %d needs arch = llama (GPT-NeoX has one key/value head per head)" % c["num_kv_heads"])
    else:
        if hd % 2:
            raise ConfigError("config: head_dim %d (hidden_size / num_heads) must be even for RoPE" % hd)
        kv = kv_heads(c)
        if c["num_heads"] % kv:
            raise ConfigError("config key num_kv_heads = %d does not divide num_heads = %d" % (kv, c["num_heads"]))


def kv_heads(c):
    return c["num_kv_heads"] or c["num_heads"]


def ffn(c):
    return c["intermediate_size"] or 4 * c["hidden_size"]


def rows_per_step(c):
    return c["batch"] * c["grad_accum"]


def tokens_per_step(c):
    return rows_per_step(c) * c["block_size"]


def steps(c):
    """Config.Steps: optimizer steps of the run."""
    if c["max_tokens"] > 0:
        tps = tokens_per_step(c)
        return (c["max_tokens"] + tps - 1) // tps
    return c["max_steps"]


def lr_at(c, step, total):
    """Config.LRAt: linear warmup, then cosine / linear / constant from lr to min_lr."""
    if step < c["warmup"]:
        return c["lr"] * (step + 1) / c["warmup"]
    if c["decay"] == "constant" or total <= c["warmup"]:
        return c["lr"]
    p = min(1.0, (step - c["warmup"]) / (total - c["warmup"]))
    if c["decay"] == "linear":
        return c["min_lr"] + (1 - p) * (c["lr"] - c["min_lr"])
    return c["min_lr"] + 0.5 * (1 + math.cos(math.pi * p)) * (c["lr"] - c["min_lr"])


def model_mismatch(a, b):
    """modelMismatch: the first model key on which two configs differ, or ''."""
    for k in MODEL_KEYS:
        if a.get(k, DEFAULTS[k]) != b.get(k, DEFAULTS[k]):
            return "%s = %s here but %s in the checkpoint" % (k, json.dumps(a.get(k)), json.dumps(b.get(k)))
    return ""


def to_json(c):
    """The stored config: every key of DEFAULTS, in order."""
    return {k: c[k] for k in DEFAULTS}
