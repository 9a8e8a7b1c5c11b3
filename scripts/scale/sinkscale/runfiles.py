"""sinktrain-layout run directories, written without torch (DESIGN §5;
checkpoint/save.go, train/state.go).

    RUN/config.json           HF config + "sinktrain": {sink_tokens, sink_ids, attention, train}
    RUN/model.safetensors     float32, HF names
    RUN/tokenizer.json        (+ special_tokens_map.json, tokenizer_config.json)
    RUN/metrics.jsonl         step, tokens, loss, lr, tok_s, grad_norm, val_loss
    RUN/checkpoint-NNNNNN/    the model files + optimizer.safetensors + trainer_state.json

Every file is written to a temp file, fsynced and renamed; a checkpoint folder
is written whole into a hidden temp folder and renamed into place, so a crash
never leaves a half checkpoint that looks complete. Tensors are given as
(name, shape, bytes of little-endian float32), so this module needs neither
torch nor numpy.
"""

import json
import math
import os
import shutil
import struct
import tempfile

from . import config as C

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
TOKENIZER_FILE = "tokenizer.json"
SPECIAL_TOKENS_MAP_FILE = "special_tokens_map.json"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
OPTIMIZER_FILE = "optimizer.safetensors"
TRAINER_STATE_FILE = "trainer_state.json"
METRICS_FILE = "metrics.jsonl"
CHECKPOINT_PREFIX = "checkpoint-"
STATE_FORMAT, STATE_VERSION = "sinktrain-trainer-state", 1
MODEL_FILES = (CONFIG_FILE, WEIGHTS_FILE, TOKENIZER_FILE, SPECIAL_TOKENS_MAP_FILE, TOKENIZER_CONFIG_FILE)


class RunError(RuntimeError):
    """A run directory problem; str() is the one-line message."""


# ---- tokenizer.json ---------------------------------------------------------

class TokenizerInfo:
    """What the trainer needs from a tokenizer.json: ids of named tokens and the vocabulary size."""

    def __init__(self, raw, path):
        self.raw, self.path = raw, path
        try:
            t = json.loads(raw)
            vocab = t["model"]["vocab"]
            added = t.get("added_tokens") or []
            self.by_name = {k: int(v) for k, v in vocab.items()}
            for a in added:
                self.by_name[a["content"]] = int(a["id"])
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise RunError("tokenizer %s: not a tokenizer.json with model.vocab (%s)" % (path, e))
        self.by_id = {}
        for k, v in self.by_name.items():
            self.by_id.setdefault(v, k)
        for a in added:  # added tokens win, as in sinktrain's tokenizer
            self.by_id[int(a["id"])] = a["content"]
        self.vocab_size = max(self.by_id) + 1 if self.by_id else 0

    def sink_ids(self, k):
        ids = []
        for i in range(k):
            name = "<|sink_%d|>" % i
            if name not in self.by_name:
                raise RunError("tokenizer %s has no %s token, expected %d sink tokens (prepare the data with --sinks %d)" % (self.path, name, k, k))
            ids.append(self.by_name[name])
        return ids

    def eos_id(self):
        return self.by_name.get("<|endoftext|>", 0)


def sink_names(k):
    return ["<|sink_%d|>" % i for i in range(k)]


# ---- parameters -------------------------------------------------------------

def param_specs(c, vocab):
    """model.Config.ParamSpecs: (name, shape, decay) in HF order; llama as issue 20 names them."""
    V, D, F, H, L = vocab, c["hidden_size"], C.ffn(c), c["num_heads"], c["num_layers"]
    sink = c["attention"] == "sink_logit"
    out = []
    if c["arch"] == "gpt_neox":
        out.append(("gpt_neox.embed_in.weight", [V, D], False))
        for l in range(L):
            p = "gpt_neox.layers.%d." % l
            out += [(p + "input_layernorm.weight", [D], False), (p + "input_layernorm.bias", [D], False),
                    (p + "post_attention_layernorm.weight", [D], False), (p + "post_attention_layernorm.bias", [D], False),
                    (p + "attention.query_key_value.weight", [3 * D, D], True), (p + "attention.query_key_value.bias", [3 * D], False),
                    (p + "attention.dense.weight", [D, D], True), (p + "attention.dense.bias", [D], False)]
            if sink:
                out.append((p + "attention.sink_logits", [H], False))
            out += [(p + "mlp.dense_h_to_4h.weight", [F, D], True), (p + "mlp.dense_h_to_4h.bias", [F], False),
                    (p + "mlp.dense_4h_to_h.weight", [D, F], True), (p + "mlp.dense_4h_to_h.bias", [D], False)]
        out += [("gpt_neox.final_layer_norm.weight", [D], False), ("gpt_neox.final_layer_norm.bias", [D], False),
                ("embed_out.weight", [V, D], True)]
        return out
    hd, KV = D // H, C.kv_heads(c)
    out.append(("model.embed_tokens.weight", [V, D], False))
    for l in range(L):
        p = "model.layers.%d." % l
        out += [(p + "input_layernorm.weight", [D], False),
                (p + "self_attn.q_proj.weight", [H * hd, D], True), (p + "self_attn.k_proj.weight", [KV * hd, D], True),
                (p + "self_attn.v_proj.weight", [KV * hd, D], True), (p + "self_attn.o_proj.weight", [D, H * hd], True)]
        if sink:
            out.append((p + "self_attn.sink_logits", [H], False))
        out += [(p + "post_attention_layernorm.weight", [D], False),
                (p + "mlp.gate_proj.weight", [F, D], True), (p + "mlp.up_proj.weight", [F, D], True),
                (p + "mlp.down_proj.weight", [D, F], True)]
    out.append(("model.norm.weight", [D], False))
    if not c["tie_embeddings"]:
        out.append(("lm_head.weight", [V, D], True))
    return out


def init_rule(name, c):
    """model.Init per parameter: ("ones"|"zeros", None) or ("normal", std). Matrices are
    normal(0, 0.02), the residual output projections normal(0, 0.02/sqrt(2L))."""
    if name.endswith("norm.weight"):
        return "ones", None
    if name.endswith(".bias") or name.endswith("sink_logits"):
        return "zeros", None
    std = 0.02
    if name.endswith(("attention.dense.weight", "mlp.dense_4h_to_h.weight", "self_attn.o_proj.weight", "mlp.down_proj.weight")):
        std = 0.02 / math.sqrt(2 * c["num_layers"])
    return "normal", std


# ---- config.json ------------------------------------------------------------

def hf_config(c, vocab, sinks, bos, eos, train=None):
    """The config.json object (model.Config.HFJSON for gpt_neox; HF LlamaConfig fields for llama)."""
    att = c["attention"] or "softmax"
    if c["arch"] == "gpt_neox":
        m = {
            "architectures": ["GPTNeoXForCausalLM"], "model_type": "gpt_neox",
            "vocab_size": vocab, "hidden_size": c["hidden_size"], "num_hidden_layers": c["num_layers"],
            "num_attention_heads": c["num_heads"], "intermediate_size": C.ffn(c),
            "rotary_pct": c["rotary_pct"], "rotary_emb_base": c["rotary_base"],
            "rope_parameters": {"partial_rotary_factor": c["rotary_pct"], "rope_theta": c["rotary_base"], "rope_type": "default"},
            "max_position_embeddings": c["max_position_embeddings"], "layer_norm_eps": c["layer_norm_eps"],
            "use_parallel_residual": c["parallel_residual"], "hidden_act": "gelu", "tie_word_embeddings": False,
            "bos_token_id": bos, "eos_token_id": eos, "attention_bias": True, "attention_dropout": 0.0,
            "hidden_dropout": 0.0, "initializer_range": 0.02, "use_cache": True,
        }
    else:
        m = {
            "architectures": ["LlamaForCausalLM"], "model_type": "llama",
            "vocab_size": vocab, "hidden_size": c["hidden_size"], "num_hidden_layers": c["num_layers"],
            "num_attention_heads": c["num_heads"], "num_key_value_heads": C.kv_heads(c),
            "head_dim": c["hidden_size"] // c["num_heads"], "intermediate_size": C.ffn(c),
            "hidden_act": "silu", "max_position_embeddings": c["max_position_embeddings"],
            "rms_norm_eps": c["layer_norm_eps"], "rope_theta": c["rotary_base"],
            "rope_parameters": {"rope_theta": c["rotary_base"], "rope_type": "default"},
            "tie_word_embeddings": c["tie_embeddings"], "attention_bias": False, "mlp_bias": False,
            "attention_dropout": 0.0, "bos_token_id": bos, "eos_token_id": eos, "initializer_range": 0.02,
            "pretraining_tp": 1, "use_cache": True,
        }
    if sinks or att != "softmax" or train is not None:
        m["sinktrain"] = {"sink_tokens": sink_names(len(sinks)), "sink_ids": list(sinks), "attention": att}
        if train is not None:
            m["sinktrain"]["train"] = train
    m["dtype"] = "float32"  # transformers 5
    m["torch_dtype"] = "float32"  # transformers 4
    return m


def dumps(v):
    """JSON as checkpoint.marshalIndent writes it: sorted keys, 2-space indent, newline."""
    return (json.dumps(v, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def tokenizer_side_files(tok, sinks, bos, eos, max_positions):
    """checkpoint.tokenizerSideFiles: special_tokens_map.json and tokenizer_config.json."""
    for i, sid in enumerate(sinks):
        name = "<|sink_%d|>" % i
        if tok.by_name.get(name) != sid:
            raise RunError("tokenizer.json: sink token %r has id %s, expected id %d" % (name, tok.by_name.get(name), sid))
    sm = {}
    if bos in tok.by_id:
        sm["bos_token"] = tok.by_id[bos]
    if eos in tok.by_id:
        sm["eos_token"] = tok.by_id[eos]
        sm["unk_token"] = tok.by_id[eos]
    if sinks:
        sm["additional_special_tokens"] = sink_names(len(sinks))
    tc = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": max_positions,
          "clean_up_tokenization_spaces": False, "add_bos_token": False, "add_eos_token": False}
    tc.update(sm)
    return dumps(sm), dumps(tc)


# ---- safetensors ------------------------------------------------------------

def safetensors_writer(tensors, meta=None):
    """A writer(f) of the safetensors encoding of tensors [(name, shape, float32 bytes)]:
    names sorted, header padded with spaces to 8 bytes (as sinktrain and the reference write)."""
    ts = sorted(tensors, key=lambda t: t[0])
    hdr = {}
    if meta:
        hdr["__metadata__"] = meta
    off = 0
    for name, shape, data in ts:
        n = len(data)
        want = 4 * math.prod(shape)
        if n != want:
            raise RunError("tensor %s: %d bytes, expected %d for shape %s of F32" % (name, n, want, shape))
        hdr[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [off, off + n]}
        off += n
    hb = json.dumps(hdr, separators=(",", ":")).encode()
    hb += b" " * (-len(hb) % 8)

    def write(f):
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for _, _, data in ts:
            f.write(data)
    return write


def read_safetensors(path):
    """name -> (dtype, shape, bytes); header checked against the file size."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise RunError("safetensors %s: truncated" % path)
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise RunError("safetensors %s: header length %d exceeds the file" % (path, n))
    try:
        hdr = json.loads(raw[8:8 + n])
    except ValueError as e:
        raise RunError("safetensors %s: header: %s" % (path, e))
    base = 8 + n
    out = {}
    for name, e in hdr.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        if base + end > len(raw):
            raise RunError("safetensors %s: tensor %s beyond the end of the file (truncated?)" % (path, name))
        out[name] = (e["dtype"], e["shape"], raw[base + b:base + end])
    return out


# ---- atomic files and directories ------------------------------------------

def sync_dir(d):
    fd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file_atomic(path, content):
    """fsutil.WriteFileAtomic: content is bytes or a writer(f)."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".tmp-", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(content):
                content(f)
            else:
                f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    sync_dir(d)


def remove_stale_temps(path):
    d, base = os.path.split(os.path.abspath(path))
    for n in os.listdir(d):
        if n.startswith("." + base + ".tmp-"):
            try:
                os.remove(os.path.join(d, n))
            except OSError:
                pass


def write_dir(d, files):
    """checkpoint.WriteDir: every file into a hidden temp sibling, then one rename."""
    d = os.path.normpath(d)
    parent, base = os.path.split(os.path.abspath(d))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="." + base + ".tmp-", dir=parent)
    try:
        os.chmod(tmp, 0o755)
        for name in sorted(files):
            write_file_atomic(os.path.join(tmp, name), files[name])
        old = None
        if os.path.lexists(d):
            old = tmp + ".old"
            os.rename(d, old)
        try:
            os.rename(tmp, d)
        except OSError:
            if old:
                os.rename(old, d)
            raise
        if old:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    sync_dir(parent)


def save(d, files):
    """checkpoint.Save's file handling: a missing dir, or one holding only these files, is
    written whole (write_dir); otherwise (a run directory) each file is replaced
    atomically, config.json last."""
    whole = not os.path.exists(d) or all(
        n in files and os.path.isfile(os.path.join(d, n)) for n in os.listdir(d))
    if whole:
        write_dir(d, files)
        return
    for n in sorted(files):
        remove_stale_temps(os.path.join(d, n))
    for n in sorted(files):
        if n != CONFIG_FILE:
            write_file_atomic(os.path.join(d, n), files[n])
    write_file_atomic(os.path.join(d, CONFIG_FILE), files[CONFIG_FILE])


def model_files(c, tok, sinks, tensors, train):
    """The files of a model folder: config.json, model.safetensors and the tokenizer files.
    tensors: {name: (shape, float32 bytes)}, checked against param_specs."""
    specs = param_specs(c, tok.vocab_size)
    names = {s[0] for s in specs}
    for name, shape, _ in specs:
        if name not in tensors:
            raise RunError("tensor %s is missing, expected shape %s" % (name, shape))
        if list(tensors[name][0]) != shape:
            raise RunError("tensor %s has shape %s, expected %s" % (name, list(tensors[name][0]), shape))
    extra = sorted(set(tensors) - names)
    if extra:
        raise RunError("unexpected tensor %s (not a parameter of this config)" % extra[0])
    bos = eos = tok.eos_id()
    sm, tc = tokenizer_side_files(tok, sinks, bos, eos, c["max_position_embeddings"])
    return {
        CONFIG_FILE: dumps(hf_config(c, tok.vocab_size, sinks, bos, eos, train)),
        WEIGHTS_FILE: safetensors_writer([(n, tensors[n][0], tensors[n][1]) for n, _, _ in specs], {"format": "pt"}),
        TOKENIZER_FILE: tok.raw,
        SPECIAL_TOKENS_MAP_FILE: sm,
        TOKENIZER_CONFIG_FILE: tc,
    }


def optimizer_writer(moments, adam_step):
    """optimizer.safetensors: exp_avg.<name>, exp_avg_sq.<name> (F32), metadata format/step."""
    ts = []
    for name, (shape, m, v) in moments.items():
        ts.append(("exp_avg." + name, shape, m))
        ts.append(("exp_avg_sq." + name, shape, v))
    return safetensors_writer(ts, {"format": "sinktrain-adamw", "step": str(adam_step)})


def trainer_state(step, tokens, steps, c, loader_tokens, adam_step, world):
    """trainer_state.json (train.TrainerState); `workers` is the data-parallel world size."""
    return {
        "format": STATE_FORMAT, "version": STATE_VERSION, "step": step, "tokens": tokens, "steps": steps,
        "loader": {"seed": c["seed"], "step": step * c["grad_accum"], "block_size": c["block_size"], "tokens": loader_tokens},
        "rng": {"seed": c["seed"]}, "adam_step": adam_step, "workers": world, "config": C.to_json(c),
        "engine": "scripts/scale (PyTorch)",
    }


def read_state(d):
    p = os.path.join(d, TRAINER_STATE_FILE)
    try:
        with open(p, encoding="utf-8") as f:
            st = json.load(f)
    except (OSError, ValueError) as e:
        raise RunError("resume: %s: %s" % (p, e))
    if st.get("format") != STATE_FORMAT or st.get("version") != STATE_VERSION:
        raise RunError("resume: %s: format %r version %r, expected %r version %d" % (p, st.get("format"), st.get("version"), STATE_FORMAT, STATE_VERSION))
    return st


# ---- checkpoints ------------------------------------------------------------

def write_checkpoint(run, step, model, optimizer, state, keep):
    """trainer.checkpoint: RUN/checkpoint-NNNNNN written whole (model files, optimizer
    moments, trainer state), old ones pruned, then the top-level model files refreshed
    (trainer.publish). model: model_files(...); optimizer: optimizer_writer(...)."""
    files = dict(model)
    files[OPTIMIZER_FILE] = optimizer
    files[TRAINER_STATE_FILE] = dumps(state)
    write_dir(checkpoint_dir(run, step), files)
    publish(run, model, keep)


def publish(run, model, keep):
    prune_checkpoints(run, keep)
    save(run, model)


def checkpoint_dir(run, step):
    return os.path.join(run, "%s%06d" % (CHECKPOINT_PREFIX, step))


def checkpoints(run):
    """Complete checkpoint-* folders (config.json and weights), oldest first: [(step, dir)]."""
    try:
        names = os.listdir(run)
    except FileNotFoundError:
        return []
    out = []
    for n in names:
        if not n.startswith(CHECKPOINT_PREFIX):
            continue
        s = n[len(CHECKPOINT_PREFIX):]
        d = os.path.join(run, n)
        if not s.isdigit() or not os.path.isdir(d):
            continue
        if os.path.isfile(os.path.join(d, CONFIG_FILE)) and os.path.isfile(os.path.join(d, WEIGHTS_FILE)):
            out.append((int(s), d))
    return sorted(out)


def latest_checkpoint(run):
    cs = checkpoints(run)
    return cs[-1] if cs else (None, None)


def prune_checkpoints(run, keep):
    """checkpoint.PruneCheckpoints: drop stale temp folders and all but the newest keep."""
    for n in os.listdir(run):
        if n.startswith("." + CHECKPOINT_PREFIX) and ".tmp-" in n:
            shutil.rmtree(os.path.join(run, n), ignore_errors=True)
    cs = checkpoints(run)
    if keep > 0 and len(cs) > keep:
        for _, d in cs[:-keep]:
            gone = os.path.join(run, "." + os.path.basename(d) + ".tmp-prune")
            os.rename(d, gone)
            shutil.rmtree(gone)


def truncate_metrics(path, step):
    """Drop metrics.jsonl lines after step (a resumed run writes them again)."""
    remove_stale_temps(path)
    try:
        with open(path, "rb") as f:
            lines = f.read().splitlines(keepends=True)
    except FileNotFoundError:
        return
    keep = []
    for ln in lines:
        try:
            if json.loads(ln)["step"] <= step:
                keep.append(ln)
        except (ValueError, KeyError, TypeError):
            pass
    write_file_atomic(path, b"".join(keep))


def metric_line(step, tokens, loss, lr, tok_s, grad_norm, val_loss=None):
    """One metrics.jsonl object, sinktrain's field order (val_loss omitted when absent)."""
    m = {"step": step, "tokens": tokens, "loss": loss, "lr": lr, "tok_s": tok_s, "grad_norm": grad_norm}
    if val_loss is not None and not math.isnan(val_loss):
        m["val_loss"] = val_loss
    return json.dumps(m) + "\n"
