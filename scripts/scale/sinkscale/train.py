"""The training loop on PyTorch (+ accelerate for several GPUs): sinktrain's
optimisation (train/trainer.go, train/optim.go) with sinktrain's samples.

Per optimizer step s: grad_accum micro-batches, micro-batch m reading loader
step s*grad_accum + m; each process takes rows [lo, hi) of every micro-batch
by row index (sampling.chunk_rows), as the CPU trainer's workers do. The loss
is the mean NLL over every scored target of the step (all processes, all
micro-batches); AdamW (decay only where ParamSpec.Decay is set), the learning
rate of Config.LRAt set before each step, global-norm clipping, bf16 autocast.
"""

import math
import os
import signal
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from . import config as C
from . import runfiles as R
from . import sampling as S
from . import torchmodel as M
from .dataset import Dataset, check_ids


class Batcher:
    """Rows [lo, hi) of loader steps as int64 id/label arrays [rows, k + block_size]."""

    def __init__(self, toks, c, sinks, lo, hi):
        self.toks, self.c, self.lo, self.hi = toks, c, lo, hi
        self.sinks = np.asarray(sinks, dtype=np.int64)
        self.k, self.block = len(sinks), c["block_size"]

    def rows(self, loader_step, starts=None, with_labels=True):
        n = self.hi - self.lo
        ids = np.empty((n, self.k + self.block), dtype=np.int64)
        ids[:, :self.k] = self.sinks
        for i in range(n):
            if starts is not None:
                off = starts[i]
            else:
                off = S.offset(self.c["seed"], len(self.toks), self.block, loader_step, self.lo + i)
            pieces = self.toks.window(off, self.block)
            ids[i, self.k:] = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
        if not with_labels:
            return ids, None
        labels = ids.copy()
        if self.k:
            labels[np.isin(labels, self.sinks)] = S.IGNORE_INDEX
        return ids, labels


def nll_sum(logits, labels):
    """Σ −log p(labels[t+1] | ≤ t) over targets that are not −100 (float32), and their count."""
    V = logits.shape[-1]
    lab = labels[:, 1:].reshape(-1)
    loss = F.cross_entropy(logits[:, :-1].reshape(-1, V).float(), lab, ignore_index=S.IGNORE_INDEX, reduction="sum")
    return loss, (lab != S.IGNORE_INDEX).sum()


class Run:
    def __init__(self, args, c, resume_state, resume_dir, log):
        self.args, self.c, self.log = args, c, log
        self.resume_state, self.resume_dir = resume_state, resume_dir

    # -- set-up ---------------------------------------------------------------
    def setup(self):
        a, c = self.args, self.c
        if a.deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        from accelerate import Accelerator
        self.acc = Accelerator(mixed_precision="no", cpu=a.cpu)  # autocast is explicit below
        self.rank, self.world = self.acc.process_index, self.acc.num_processes
        self.device = self.acc.device
        self.main = self.acc.is_main_process
        if c["batch"] < self.world:
            raise C.ConfigError("config key batch = %d is smaller than the %d processes (each needs at least one row)" % (c["batch"], self.world))

        ds = Dataset(a.data, self.args.manifest)
        self.ds = ds
        if not ds.tokenizer_path:
            raise R.RunError("--data %s has no tokenizer (manifest tokenizer.file is empty)" % a.data)
        with open(ds.tokenizer_path, "rb") as f:
            self.tok = R.TokenizerInfo(f.read(), ds.tokenizer_path)
        self.vocab = self.tok.vocab_size
        self.sinks = self.tok.sink_ids(c["sinks"])
        self.train_toks = ds.split("train")
        check_ids(ds, "train", self.train_toks, self.vocab)
        if len(self.train_toks) < c["block_size"] + 1:
            raise R.RunError("--data %s: the loader needs at least block_size+1 = %d tokens, the train split has %d" % (a.data, c["block_size"] + 1, len(self.train_toks)))
        self.val_toks = None
        if ds.has_split("val"):
            self.val_toks = ds.split("val")
            check_ids(ds, "val", self.val_toks, self.vocab)

        bos = eos = self.tok.eos_id()
        self.model = M.build(c, self.vocab, self.sinks, bos, eos)
        self.steps = C.steps(c)
        self.step, self.tokens = 0, 0
        if self.resume_state is not None:
            st = self.resume_state
            M.load_tensors(self.model, c, self.vocab, os.path.join(self.resume_dir, R.WEIGHTS_FILE))
            ld = st["loader"]
            if ld.get("block_size") != c["block_size"]:
                raise R.RunError("resume: %s: loader state has block_size %s, the config %d" % (self.resume_dir, ld.get("block_size"), c["block_size"]))
            if ld.get("tokens") not in (None, 0, len(self.train_toks)):
                raise R.RunError("resume: %s: loader state is for a stream of %d tokens, this split has %d (different data?)" % (self.resume_dir, ld["tokens"], len(self.train_toks)))
            self.step, self.tokens = st["step"], st["tokens"]
        self.model.to(self.device)
        decay, rest = M.param_groups(self.model, c, self.vocab)
        self.names = [n for n, _ in decay] + [n for n, _ in rest]
        fused = {"fused": True} if self.device.type == "cuda" else {}
        self.opt = torch.optim.AdamW(
            [{"params": [p for _, p in decay], "weight_decay": c["weight_decay"]},
             {"params": [p for _, p in rest], "weight_decay": 0.0}],
            lr=c["lr"], betas=tuple(c["betas"]), eps=c["eps"], **fused)
        if self.resume_state is not None:
            self.load_optimizer(os.path.join(self.resume_dir, R.OPTIMIZER_FILE), self.resume_state["adam_step"])
        self.fwd = self.model
        if self.world > 1:
            self.fwd = self.acc.prepare_model(self.model)
        if a.compile != "none" and self.device.type == "cuda":
            self.fwd = torch.compile(self.fwd, mode=None if a.compile == "default" else a.compile)
        lo, hi = S.chunk_rows(c["batch"], self.rank, self.world)
        self.batcher = Batcher(self.train_toks, c, self.sinks, lo, hi)
        self.sinks_t = torch.tensor(self.sinks, dtype=torch.int64, device=self.device) if self.sinks else None
        self.scored = c["batch"] * c["grad_accum"] * S.scored_per_row(len(self.sinks), c["block_size"])
        self.stop = False
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum, frame):
        self.stop = True

    # -- optimizer state --------------------------------------------------------
    def load_optimizer(self, path, adam_step):
        raw = R.read_safetensors(path)
        params = dict(M.named_params(self.model))
        sd = self.opt.state_dict()
        state = {}
        for i, n in enumerate(self.names):
            p = params[n]
            mv = []
            for key in ("exp_avg.", "exp_avg_sq."):
                if key + n not in raw:
                    raise R.RunError("resume: %s: tensor %s is missing" % (path, key + n))
                dt, shape, data = raw[key + n]
                if dt != "F32" or list(shape) != list(p.shape):
                    raise R.RunError("resume: %s: tensor %s is %s %s, expected F32 %s" % (path, key + n, dt, shape, list(p.shape)))
                mv.append(torch.frombuffer(bytearray(data), dtype=torch.float32).view(p.shape).to(p.device))
            state[i] = {"step": torch.tensor(float(adam_step)), "exp_avg": mv[0], "exp_avg_sq": mv[1]}
        sd["state"] = state
        self.opt.load_state_dict(sd)

    def adam_step(self):
        for st in self.opt.state.values():
            return int(float(st["step"]))
        return 0

    def moments(self):
        params = dict(M.named_params(self.model))
        out = {}
        for n in self.names:
            st = self.opt.state[params[n]]
            out[n] = (list(params[n].shape), M.tensor_bytes(st["exp_avg"]), M.tensor_bytes(st["exp_avg_sq"]))
        return out

    # -- steps ----------------------------------------------------------------
    def to_device(self, a):
        """An int64 array on the device (eval: plain copy)."""
        return torch.from_numpy(a).to(self.device)

    def upload(self, a):
        """Training rows to the device through reused pinned buffers (no allocation, no
        host wait): buffer i is refilled only once its last copy has finished."""
        t = torch.from_numpy(a)
        if self.device.type != "cuda":
            return t
        if not hasattr(self, "_pins"):
            self._pins = [(torch.empty(t.shape, dtype=t.dtype).pin_memory(), torch.cuda.Event()) for _ in range(3)]
            self._pin_i = 0
        buf, ev = self._pins[self._pin_i]
        self._pin_i = (self._pin_i + 1) % len(self._pins)
        ev.synchronize()
        buf.copy_(t)
        out = buf.to(self.device, non_blocking=True)
        ev.record()
        return out

    def labels(self, ids):
        """sinktoken.Labels on the device: the ids with every sink id replaced by -100."""
        if self.sinks_t is None:
            return ids
        return torch.where(torch.isin(ids, self.sinks_t), torch.full_like(ids, S.IGNORE_INDEX), ids)

    def train_step(self):
        c = self.c
        ga = c["grad_accum"]
        loss_total = torch.zeros((), device=self.device)
        scale = self.world / self.scored
        for micro in range(ga):
            ids, _ = self.batcher.rows(S.loader_step(self.step, micro, ga), with_labels=False)
            ids = self.upload(ids)
            labels = self.labels(ids)
            sync = self.world == 1 or micro == ga - 1
            ctx = self.fwd.no_sync() if not sync and hasattr(self.fwd, "no_sync") else _null()
            with ctx:
                with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.device.type == "cuda"):
                    logits = self.fwd(input_ids=ids, use_cache=False).logits
                s, _ = nll_sum(logits, labels)
                (s * scale).backward()
            loss_total += s.detach()
        clip = c["grad_clip"] if c["grad_clip"] > 0 else float("inf")
        norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), clip)
        lr = C.lr_at(c, self.step, self.steps)
        for g in self.opt.param_groups:
            g["lr"] = lr
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        if self.world > 1:
            torch.distributed.all_reduce(loss_total)
        return loss_total / self.scored, norm, lr

    @torch.no_grad()
    def eval_loss(self):
        """trainer.evalLoss: mean NLL on eval_tokens/block_size evenly spaced val windows."""
        c, val = self.c, self.val_toks
        if val is None or len(val) < c["block_size"]:
            return float("nan")
        B = c["block_size"]
        nwin = max(1, c["eval_tokens"] // B)
        span = len(val) - B
        starts = [i * span // (nwin - 1) if nwin > 1 else 0 for i in range(nwin)]
        tot, n = 0.0, 0
        bt = Batcher(val, c, self.sinks, 0, 0)
        for i in range(0, nwin, c["batch"]):
            part = starts[i:i + c["batch"]]
            bt.hi = len(part)
            ids, labels = bt.rows(0, starts=part)
            ids, labels = self.to_device(ids), self.to_device(labels)
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.device.type == "cuda"):
                logits = self.model(input_ids=ids, use_cache=False).logits
            s, k = nll_sum(logits, labels)
            tot += float(s)
            n += int(k)
        return tot / n if n else float("nan")

    # -- files ----------------------------------------------------------------
    def model_files(self):
        tensors = M.state_tensors(self.model, self.c, self.vocab)
        return R.model_files(self.c, self.tok, self.sinks, tensors, C.to_json(self.c))

    def checkpoint(self):
        """RUN/checkpoint-NNNNNN whole and atomically, then the top-level model files."""
        if self.main:
            for n, p in M.named_params(self.model):
                if not bool(torch.isfinite(p).all()):
                    raise R.RunError("weights became non-finite (%s) at step %d; stopped, %s" % (n, self.step, self.last_good()))
            st = R.trainer_state(self.step, self.tokens, self.steps, self.c, len(self.train_toks), self.adam_step(), self.world)
            R.write_checkpoint(self.args.out, self.step, self.model_files(), R.optimizer_writer(self.moments(), self.adam_step()),
                               st, self.c["keep_checkpoints"])
            self.last_ckpt = self.step
        if self.world > 1:
            self.barrier()

    def barrier(self):
        """All ranks meet. On the CPU (gloo) a plain barrier: accelerate's passes
        device_ids=[local rank], which names a GPU that may not exist."""
        if self.device.type == "cpu":
            torch.distributed.barrier()
        else:
            self.acc.wait_for_everyone()

    def publish(self):
        R.publish(self.args.out, self.model_files(), self.c["keep_checkpoints"])

    def last_good(self):
        if getattr(self, "last_ckpt", None) is None:
            return "no checkpoint was written yet"
        return "the last good checkpoint is " + R.checkpoint_dir(self.args.out, self.last_ckpt)

    # -- loop -----------------------------------------------------------------
    def loop(self):
        c, out = self.c, self.args.out
        os.makedirs(out, exist_ok=True)
        metrics = os.path.join(out, R.METRICS_FILE)
        if self.main:
            if self.resume_state is not None:
                self.last_ckpt = self.step
                R.truncate_metrics(metrics, self.step)
            elif os.path.exists(metrics):
                os.remove(metrics)
        nparams = sum(p.numel() for p in self.model.parameters())
        if self.main:
            if self.resume_state is not None:
                self.log("resuming from %s (step %d of %d)" % (self.resume_dir, self.step, self.steps))
                if self.resume_state.get("workers") != self.world:
                    self.log("note: the checkpoint was written by %s processes, this run has %d: losses match within float rounding" % (self.resume_state.get("workers"), self.world))
            self.log("model: %d params, %s, %d layers, d=%d, %d sinks, %s attention; %d process(es) on %s, compile %s; %d steps of %d tokens"
                     % (nparams, c["arch"], c["num_layers"], c["hidden_size"], len(self.sinks), c["attention"] or "softmax",
                        self.world, self.device, self.args.compile, self.steps, C.tokens_per_step(c)))
        if self.resume_state is not None and self.step >= self.steps:
            if self.main:
                self.publish()
            return
        mf = open(metrics, "a") if self.main else None
        t0, tok0, began, first = time.time(), self.tokens, time.time(), self.step
        try:
            while self.step < self.steps:
                loss, norm, lr = self.train_step()
                self.step += 1
                self.tokens += C.tokens_per_step(c)
                done = self.step == self.steps
                eval_now = done or (c["eval_interval"] > 0 and self.step % c["eval_interval"] == 0)
                log_now = eval_now or done or self.step % c["log_interval"] == 0
                if log_now:
                    lv, nv = float(loss), float(norm)
                    if not (math.isfinite(lv) and math.isfinite(nv)):
                        raise R.RunError("loss %s (gradient norm %s) at step %d; stopped, %s" % (lv, nv, self.step, self.last_good()))
                    val = None
                    if eval_now and self.main:
                        val = self.eval_loss()
                    if self.main:
                        el = time.time() - t0
                        tok_s = (self.tokens - tok0) / el if el > 0 else 0.0
                        t0, tok0 = time.time(), self.tokens
                        mf.write(R.metric_line(self.step, self.tokens, lv, lr, tok_s, nv, val))
                        mf.flush()
                        eta = (time.time() - began) / (self.step - first) * (self.steps - self.step)
                        vs = " | val %.4f" % val if val is not None and not math.isnan(val) else ""
                        self.log("step %d/%d | loss %.4f%s | lr %.2e | %.0f tok/s | ETA %ds" % (self.step, self.steps, lv, vs, lr, tok_s, eta))
                stop = self.stop
                if self.world > 1 and (log_now or done):
                    f = torch.tensor([1.0 if stop else 0.0], device=self.device)
                    torch.distributed.all_reduce(f)
                    stop = bool(f.item() > 0)
                elif self.world > 1:
                    stop = False  # agreed on at the next log step
                if done or stop or (c["checkpoint_interval"] > 0 and self.step % c["checkpoint_interval"] == 0):
                    self.checkpoint()
                if stop and not done:
                    if self.main:
                        self.log("interrupted at step %d; checkpoint %s written; resume with the same command plus --resume"
                                 % (self.step, R.checkpoint_dir(out, self.step)))
                    return
        finally:
            if mf:
                mf.close()
        if self.main:
            self.log("done: %d steps; model in %s, checkpoints in %s" % (self.step, out, R.checkpoint_dir(out, self.step)))


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def run(args, c, resume_state, resume_dir):
    def log(msg):
        print(msg, file=sys.stderr, flush=True)
    r = Run(args, c, resume_state, resume_dir, log)
    r.setup()
    r.loop()
    if r.world > 1:
        torch.distributed.destroy_process_group()
