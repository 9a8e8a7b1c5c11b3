"""The model on PyTorch + transformers: GPTNeoXForCausalLM (or LlamaForCausalLM)
built from the same config.json sinktrain writes, initialised as model.Init,
with the attention variants registered in transformers' attention-function
registry (AttentionInterface.register; transformers' files are not touched).

    softmax     transformers' own "sdpa"
    softmax1    p_j = exp(s_j) / (1 + Σ_k exp(s_k))            "sinktrain_softmax1"
    sink_logit  p_j = exp(s_j) / (exp(b_h) + Σ_k exp(s_k))     "sinktrain_sink_logit"
                b_h: the parameter <layer>.attention.sink_logits [H] (llama: self_attn.sink_logits)

Both variants are a softmax over [b_h, s_0 … s_i] with the first column
dropped (it carries no value), computed in float32 with the causal mask.
"""

import sys

import torch
from torch import nn

from . import config as C
from . import runfiles as R

ATTENTION_IMPL = {"softmax": "sdpa", "softmax1": "sinktrain_softmax1", "sink_logit": "sinktrain_sink_logit"}


def _sink_softmax_attention(module, query, key, value, attention_mask, logit, scaling=None, **_):
    # query [B, H, T, hd]; key, value [B, KV, S, hd]; logit [H] or None (= 0)
    B, H, T, hd = query.shape
    S = key.shape[-2]
    g = H // key.shape[1]
    if g > 1:  # grouped-query attention: each key/value head serves g query heads
        key = key[:, :, None].expand(B, key.shape[1], g, S, hd).reshape(B, H, S, hd)
        value = value[:, :, None].expand(B, value.shape[1], g, S, hd).reshape(B, H, S, hd)
    if scaling is None:
        scaling = hd ** -0.5
    s = torch.matmul(query, key.transpose(2, 3)).float() * scaling  # [B, H, T, S]
    causal = torch.ones(T, S, dtype=torch.bool, device=s.device).tril(S - T)
    s = s.masked_fill(~causal, float("-inf"))
    if attention_mask is not None:  # a 4-D mask, if a caller passes one
        m = attention_mask[..., :S]
        s = s.masked_fill(~m, float("-inf")) if m.dtype == torch.bool else s + m.float()
    if logit is None:
        b = s.new_zeros(B, H, T, 1)
    else:
        b = logit.float().view(1, H, 1, 1).expand(B, H, T, 1)
    p = torch.softmax(torch.cat([b, s], dim=-1), dim=-1)[..., 1:]  # [B, H, T, S]
    out = torch.matmul(p.to(value.dtype), value)  # [B, H, T, hd]
    return out.transpose(1, 2).contiguous(), p


def softmax1_attention(module, query, key, value, attention_mask, **kw):
    """softmax₁: a zero logit in the denominator (E. Miller's "attention is off by one")."""
    return _sink_softmax_attention(module, query, key, value, attention_mask, None, **kw)


def sink_logit_attention(module, query, key, value, attention_mask, **kw):
    """A learned logit per head in the denominator (gpt-oss)."""
    return _sink_softmax_attention(module, query, key, value, attention_mask, module.sink_logits, **kw)


_FUNCS = {"softmax1": softmax1_attention, "sink_logit": sink_logit_attention}


def register_attention(wrap=None):
    """Register the variants; wrap(name, fn) -> fn replaces them (the probe counts calls)."""
    from transformers import AttentionInterface
    for att, fn in _FUNCS.items():
        AttentionInterface.register(ATTENTION_IMPL[att], wrap(att, fn) if wrap else fn)


def _attention_modules(model, c):
    if c["arch"] == "gpt_neox":
        return [layer.attention for layer in model.gpt_neox.layers]
    return [layer.self_attn for layer in model.model.layers]


def build(c, vocab, sinks, bos, eos):
    """A freshly initialised model (float32, on the CPU), its parameters checked
    name by name and shape by shape against runfiles.param_specs."""
    import transformers
    register_attention()
    att = c["attention"] or "softmax"
    if att not in ATTENTION_IMPL:
        raise C.ConfigError("config key attention: attention %r is not supported, expected softmax, softmax1 or sink_logit" % att)
    impl = ATTENTION_IMPL[att]
    d = R.hf_config(c, vocab, sinks, bos, eos)
    for k in ("sinktrain", "dtype", "torch_dtype", "architectures"):
        d.pop(k, None)
    d["use_cache"] = False
    cls = transformers.GPTNeoXConfig if c["arch"] == "gpt_neox" else transformers.LlamaConfig
    hfc = cls.from_dict(d)
    try:
        model = transformers.AutoModelForCausalLM.from_config(hfc, attn_implementation=impl)
    except (ValueError, ImportError, KeyError) as e:
        # A transformers that checks the name against its own list: build with
        # "eager" and switch to the registered function afterwards.
        model = transformers.AutoModelForCausalLM.from_config(hfc, attn_implementation="eager")
        try:
            model.set_attn_implementation(impl)
        except (AttributeError, ValueError, ImportError, KeyError):
            model.config._attn_implementation = impl
        print("note: transformers refused attn_implementation=%r at construction (%s); switched after" % (impl, e), file=sys.stderr)
    got = getattr(model.config, "_attn_implementation", None)
    if got != impl:
        raise RuntimeError("transformers built the model with attention %r, expected %r (attention registry changed?)" % (got, impl))
    _untie_if_needed(model, c)
    H = c["num_heads"]
    if att == "sink_logit":
        for m in _attention_modules(model, c):
            m.register_parameter("sink_logits", nn.Parameter(torch.zeros(H)))
    check_params(model, c, vocab)
    init_weights(model, c)
    if att != "softmax":
        _probe(model, c, vocab)
    return model


# transformers ≥ 5 names GPT-NeoX's output head lm_head inside the model and
# writes it as embed_out in checkpoints (its conversion mapping); sinktrain and
# every GPT-NeoX checkpoint say embed_out.
_NEOX_V5_NAMES = {"lm_head.weight": "embed_out.weight"}


def named_params(model):
    """model.named_parameters() under sinktrain's (= the checkpoints') names."""
    neox = getattr(model.config, "model_type", "") == "gpt_neox"
    for n, p in model.named_parameters():
        yield (_NEOX_V5_NAMES.get(n, n) if neox else n), p


def _untie_if_needed(model, c):
    """GPT-NeoX keeps embed_out apart from embed_in (and an untied Llama its
    lm_head): if this transformers tied them anyway (a config default that
    from_config applies), give the head its own parameter again."""
    tied = c["arch"] == "llama" and c["tie_embeddings"]
    out, inp = model.get_output_embeddings(), model.get_input_embeddings()
    if tied or out.weight is not inp.weight:
        return
    model.config.tie_word_embeddings = False
    if hasattr(model.config, "get_text_config"):
        model.config.get_text_config().tie_word_embeddings = False
    keys = getattr(model, "_tied_weights_keys", None)
    if keys:
        model._tied_weights_keys = type(keys)()
    out.weight = nn.Parameter(inp.weight.detach().clone())
    print("note: transformers tied the output head to the input embedding; untied it (sinktrain's models are untied)", file=sys.stderr)


def check_params(model, c, vocab):
    """The model's parameters are exactly sinktrain's (names and shapes)."""
    have = {n: list(p.shape) for n, p in named_params(model)}
    want = {n: s for n, s, _ in R.param_specs(c, vocab)}
    for n, s in want.items():
        if n not in have:
            raise RuntimeError("transformers' model has no parameter %s %s (have %d, among them: %s)" % (
                n, s, len(have), ", ".join(k for k in sorted(have) if "layers." not in k)))
        if have[n] != s:
            raise RuntimeError("transformers' parameter %s has shape %s, sinktrain's %s" % (n, have[n], s))
    extra = sorted(set(have) - set(want))
    if extra:
        raise RuntimeError("transformers' model has a parameter sinktrain does not know: %s" % extra[0])
    if c["arch"] == "llama" and c["tie_embeddings"] and model.lm_head.weight is not model.model.embed_tokens.weight:
        raise RuntimeError("tie_embeddings = true but transformers did not tie lm_head to embed_tokens")


def init_weights(model, c):
    """model.Init's scheme: normal(0, 0.02) matrices, output projections normal(0, 0.02/sqrt(2L)),
    zero biases and sink logits, unit norm weights; deterministic in the seed (CPU generator)."""
    g = torch.Generator().manual_seed(c["seed"] % (1 << 63))
    params = dict(named_params(model))
    with torch.no_grad():
        for name, shape, _ in R.param_specs(c, params_vocab(params, c)):
            p = params[name]
            kind, std = R.init_rule(name, c)
            if kind == "ones":
                p.fill_(1.0)
            elif kind == "zeros":
                p.zero_()
            else:
                p.copy_(torch.randn(shape, generator=g, dtype=torch.float32) * std)


def params_vocab(params, c):
    return params["gpt_neox.embed_in.weight" if c["arch"] == "gpt_neox" else "model.embed_tokens.weight"].shape[0]


def _probe(model, c, vocab):
    """One tiny forward with counting copies of the variants registered: the model must
    call the configured one once per layer, and nothing else."""
    calls = []

    def wrap(att, fn):
        def counted(module, *a, **kw):
            calls.append(att)
            return fn(module, *a, **kw)
        return counted

    register_attention(wrap)
    try:
        with torch.no_grad():
            model(input_ids=torch.zeros(1, 4, dtype=torch.long), use_cache=False)
    finally:
        register_attention()
    if calls != [c["attention"]] * c["num_layers"]:
        raise RuntimeError("transformers did not call the %s attention function once per layer (calls: %s)" % (c["attention"], calls))


def tensor_bytes(t):
    """Little-endian float32 bytes of a tensor (any device)."""
    return t.detach().to("cpu", torch.float32).contiguous().numpy().tobytes()


def state_tensors(model, c, vocab):
    """{name: (shape, float32 bytes)} in sinktrain's names, for runfiles.model_files."""
    params = dict(named_params(model))
    return {n: (s, tensor_bytes(params[n])) for n, s, _ in R.param_specs(c, vocab)}


def load_tensors(model, c, vocab, path):
    """Copy the float32 weights of a model.safetensors into the model (names and shapes checked)."""
    raw = R.read_safetensors(path)
    params = dict(named_params(model))
    with torch.no_grad():
        for n, s, _ in R.param_specs(c, vocab):
            if n not in raw:
                raise R.RunError("%s: tensor %s is missing" % (path, n))
            dt, shape, data = raw[n]
            if dt != "F32" or list(shape) != s:
                raise R.RunError("%s: tensor %s is %s %s, expected F32 %s" % (path, n, dt, shape, s))
            params[n].copy_(torch.frombuffer(bytearray(data), dtype=torch.float32).view(s))


def param_groups(model, c, vocab):
    """AdamW groups: weight decay where ParamSpec.Decay is set (matrices other than embeddings)."""
    params = dict(named_params(model))
    decay, rest = [], []
    for n, _, d in R.param_specs(c, vocab):
        (decay if d else rest).append((n, params[n]))
    return decay, rest
