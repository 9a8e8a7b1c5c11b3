#!/usr/bin/env python3
"""Run the sink study on a GPU machine within a wall-clock budget.

    python3 scripts/scale/study.py [--deadline 540] [--slots 9] [--out runs/gpu-study] PLAN...

PLAN entries are BUDGET:MODEL,MODEL,... in priority order (MODEL one of
vanilla sinks1 sinks2 sinks4 softmax1 sink_logit, or "all"). Each (budget,
model) is one training job: `ENGINE=gpu scripts/sink-study.sh BUDGET` for that
model alone (the study script owns the model definitions and the recipe's
arguments). Jobs start in plan order while fewer than --slots run, spread over
the GPUs; once a job's throughput is known, a job that would not finish before
the training deadline is skipped (a shorter one further down may still fit).
At the training deadline running jobs get SIGTERM (they checkpoint and stop).
A budget's models are evaluated (sinktrain compare, inspect attention, compare
report: `SKIP_TRAIN=1 scripts/sink-study.sh BUDGET`) on the CPUs as soon as all
of its jobs have ended, while other budgets still train. Everything that ran
and what did not is written to OUT/schedule.json and OUT/schedule.md.

Stdlib only; the GPUs are found with nvidia-smi (--gpus to override).
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
MODELS = ["vanilla", "sinks1", "sinks2", "sinks4", "softmax1", "sink_logit"]


def parse_plan(entries):
    jobs = []
    for e in entries:
        b, sep, ms = e.partition(":")
        if not sep or not b.isdigit() or int(b) <= 0:
            raise SystemExit("study.py: plan entry %r: expected BUDGET:MODEL,MODEL,... (BUDGET in tokens)" % e)
        names = MODELS if ms == "all" else [m for m in ms.split(",") if m]
        for m in names:
            if m not in MODELS:
                raise SystemExit("study.py: plan entry %r: unknown model %r (known: %s, all)" % (e, m, " ".join(MODELS)))
            if (int(b), m) not in [(j["budget"], j["model"]) for j in jobs]:
                jobs.append({"budget": int(b), "model": m, "state": "pending"})
    if not jobs:
        raise SystemExit("study.py: empty plan")
    return jobs


def count_gpus():
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30).stdout
        return max(1, sum(1 for ln in out.splitlines() if ln.startswith("GPU ")))
    except (OSError, subprocess.SubprocessError):
        return 1


def last_metric(path):
    try:
        with open(path, "rb") as f:
            lines = f.read().splitlines()
        return json.loads(lines[-1]) if lines else None
    except (OSError, ValueError, IndexError):
        return None


class Study:
    def __init__(self, a):
        self.a = a
        self.t0 = time.time()
        self.jobs = parse_plan(a.plan)
        self.gpus = a.gpus or count_gpus()
        self.evals = {}  # budget -> {"proc", "state", "log", "started", "ended"}
        os.makedirs(a.out, exist_ok=True)
        self.events = open(os.path.join(a.out, "schedule.log"), "a")

    def now(self):
        return time.time() - self.t0

    def say(self, msg):
        line = "[%6.1fs] %s" % (self.now(), msg)
        print(line, file=sys.stderr, flush=True)
        self.events.write(line + "\n")
        self.events.flush()

    def study_dir(self, budget):
        return os.path.join(self.a.out, "study-%d" % budget)

    def env(self, **kw):
        e = dict(os.environ)
        e.update({"SKIP_BUILD": "1", "DATA": self.a.data, "EVAL_TEXT": self.a.eval_text, "PY": sys.executable,
                  "TORCHINDUCTOR_COMPILE_THREADS": str(self.a.compile_threads), "PYTHONUNBUFFERED": "1"})
        if self.a.gpu_args:
            e["GPU_ARGS"] = self.a.gpu_args
        # Checkpoints and val losses less often than the CPU preset's 250/200 steps: at
        # thousands of steps a minute they would cost more than the training. The model,
        # data and optimisation are the preset's.
        e.setdefault("TRAIN_SET", "checkpoint_interval=2500 eval_interval=1000")
        e.update({k: str(v) for k, v in kw.items()})
        return e

    # -- training jobs ----------------------------------------------------------
    def running(self):
        return [j for j in self.jobs if j["state"] == "running"]

    def rate(self):
        """Median tokens/s of the running (or finished) jobs that logged one, or None."""
        rs = sorted(j["tok_s"] for j in self.jobs if j.get("tok_s"))
        return rs[len(rs) // 2] if rs else None

    def start(self, j, slot):
        sd = self.study_dir(j["budget"])
        os.makedirs(sd, exist_ok=True)
        log = os.path.join(sd, "%s.log" % j["model"])
        gpu = slot % self.gpus
        env = self.env(ENGINE="gpu", SKIP_EVAL=1, MODELS=j["model"], STUDY=sd, CUDA_VISIBLE_DEVICES=gpu)
        j["proc"] = subprocess.Popen(["bash", os.path.join(REPO, "scripts", "sink-study.sh"), str(j["budget"])],
                                     cwd=REPO, env=env, stdout=open(log, "ab"), stderr=subprocess.STDOUT, start_new_session=True)
        j.update(state="running", started=self.now(), gpu=gpu, slot=slot, log=log,
                 metrics=os.path.join(sd, j["model"], "metrics.jsonl"))
        self.say("start %s @ %d tokens on GPU %d (slot %d)" % (j["model"], j["budget"], gpu, slot))

    def poll_jobs(self):
        for j in self.running():
            m = last_metric(j["metrics"])
            if m and m.get("tok_s"):
                j["tok_s"], j["tokens_done"] = m["tok_s"], m["tokens"]
            rc = j["proc"].poll()
            if rc is None:
                continue
            j["ended"] = self.now()
            done = os.path.isfile(os.path.join(self.study_dir(j["budget"]), j["model"], "model.safetensors")) and \
                not os.path.exists(os.path.join(self.study_dir(j["budget"]), j["model"], ".unfinished"))
            j["state"] = "finished" if rc == 0 and done else ("stopped" if j.get("term") else "failed")
            j["rc"] = rc
            self.say("%s %s @ %d tokens (rc %d, %.0fs, %s tok/s)" % (j["state"], j["model"], j["budget"], rc,
                     j["ended"] - j["started"], "%.0f" % j["tok_s"] if j.get("tok_s") else "?"))

    def estimate(self, j):
        r = self.rate()
        return None if r is None else j["budget"] / r + self.a.startup

    def schedule(self):
        free = [s for s in range(self.a.slots) if s not in {j["slot"] for j in self.running()}]
        for j in self.jobs:
            if not free:
                return
            if j["state"] != "pending":
                continue
            est = self.estimate(j)
            if est is not None and self.now() + est > self.a.train_deadline:
                continue  # would not finish; a shorter job below may
            self.start(j, free.pop(0))

    def skip_hopeless(self):
        """Pending jobs that cannot finish any more are marked skipped (their budget can then be evaluated)."""
        for j in self.jobs:
            if j["state"] == "pending":
                est = self.estimate(j)
                left = self.a.train_deadline - self.now()
                if left <= 0 or (est is not None and est > left and not self.running()):
                    j["state"] = "skipped"
                    self.say("skip %s @ %d tokens (needs ~%ss, %.0fs of training time left)" % (
                        j["model"], j["budget"], "%.0f" % est if est else "?", max(0, left)))

    def terminate(self):
        for j in self.running():
            j["term"] = True
            self.say("deadline: SIGTERM %s @ %d tokens (%s of %d tokens)" % (j["model"], j["budget"], j.get("tokens_done", "?"), j["budget"]))
            try:
                os.killpg(j["proc"].pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for j in self.running():
            try:
                j["proc"].wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(j["proc"].pid, signal.SIGKILL)
        self.poll_jobs()
        for j in self.jobs:
            if j["state"] == "pending":
                j["state"] = "skipped"

    # -- evaluation -------------------------------------------------------------
    def poll_evals(self):
        budgets = []
        for j in self.jobs:
            if j["budget"] not in budgets:
                budgets.append(j["budget"])
        for b in budgets:
            js = [j for j in self.jobs if j["budget"] == b]
            ev = self.evals.get(b)
            if ev is None and all(j["state"] in ("finished", "failed", "stopped", "skipped") for j in js):
                ok = [j["model"] for j in js if j["state"] == "finished"]
                if not ok:
                    self.evals[b] = {"state": "nothing to evaluate"}
                    continue
                log = os.path.join(self.study_dir(b), "eval.log")
                env = self.env(SKIP_TRAIN=1, MODELS=" ".join(ok), STUDY=self.study_dir(b), COMPARE_JOBS=self.a.compare_jobs)
                p = subprocess.Popen(["bash", os.path.join(REPO, "scripts", "sink-study.sh"), str(b)], cwd=REPO, env=env,
                                     stdout=open(log, "ab"), stderr=subprocess.STDOUT, start_new_session=True)
                self.evals[b] = {"proc": p, "state": "running", "started": self.now(), "models": ok}
                self.say("evaluate %d tokens: %s" % (b, " ".join(ok)))
            elif ev and ev.get("state") == "running":
                rc = ev["proc"].poll()
                if rc is not None:
                    ev.update(state="finished" if rc == 0 else "failed", rc=rc, ended=self.now())
                    self.say("evaluation of %d tokens %s (rc %d, %.0fs)" % (b, ev["state"], rc, ev["ended"] - ev["started"]))

    def evals_running(self):
        return [e for e in self.evals.values() if e.get("state") == "running"]

    # -- the whole run ----------------------------------------------------------
    def run(self):
        a = self.a
        self.say("plan: %s; %d GPU(s), %d slots; training until %ds, everything until %ds" % (
            " ".join("%s@%d" % (j["model"], j["budget"]) for j in self.jobs), self.gpus, a.slots, a.train_deadline, a.deadline))
        while True:
            self.poll_jobs()
            if self.now() >= a.train_deadline:
                self.terminate()
            else:
                self.skip_hopeless()
                self.schedule()
            self.poll_evals()
            if not self.running() and not any(j["state"] == "pending" for j in self.jobs) and \
                    len(self.evals) == len({j["budget"] for j in self.jobs}) and not self.evals_running():
                break
            if self.now() >= a.deadline:
                for e in self.evals_running():
                    self.say("deadline: stopping an evaluation")
                    os.killpg(e["proc"].pid, signal.SIGTERM)
                    e["state"] = "killed at the deadline"
                if self.running():
                    self.terminate()
                break
            time.sleep(2)
        self.write()

    def write(self):
        rows = []
        for j in self.jobs:
            rows.append({k: j.get(k) for k in ("model", "budget", "state", "rc", "gpu", "started", "ended", "tok_s", "tokens_done")})
        evals = {str(b): {k: v for k, v in e.items() if k != "proc"} for b, e in self.evals.items()}
        out = {"plan": self.a.plan, "gpus": self.gpus, "slots": self.a.slots, "wall_s": self.now(), "jobs": rows, "evaluations": evals}
        with open(os.path.join(self.a.out, "schedule.json"), "w") as f:
            json.dump(out, f, indent=2)
        with open(os.path.join(self.a.out, "schedule.md"), "w") as f:
            f.write("# GPU study schedule\n\n%d GPU(s), %d slots, %.0f s wall.\n\n" % (self.gpus, self.a.slots, self.now()))
            f.write("| model | tokens | state | started s | ended s | tok/s (last log) |\n|---|---:|---|---:|---:|---:|\n")
            for r in rows:
                f.write("| %s | %d | %s | %s | %s | %s |\n" % (r["model"], r["budget"], r["state"],
                        "%.0f" % r["started"] if r["started"] is not None else "", "%.0f" % r["ended"] if r["ended"] is not None else "",
                        "%.0f" % r["tok_s"] if r["tok_s"] else ""))
            f.write("\n| budget | evaluation |\n|---:|---|\n")
            for b, e in evals.items():
                f.write("| %s | %s %s |\n" % (b, e.get("state"), " ".join(e.get("models", []))))
        self.say("wrote %s" % os.path.join(self.a.out, "schedule.md"))


def main(argv):
    p = argparse.ArgumentParser(prog="study.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("plan", nargs="*", default=["64000000:sinks1,vanilla,sinks4,sinks2,softmax1,sink_logit",
                                               "256000000:sinks1,sinks4,sinks2", "16000000:all", "8192000:vanilla,sinks1",
                                               "256000000:vanilla,softmax1,sink_logit"])
    p.add_argument("--out", default=os.path.join(REPO, "runs", "gpu-study"))
    p.add_argument("--data", default=os.path.join(REPO, "runs", "data"))
    p.add_argument("--eval-text", default=os.path.join(REPO, "runs", "persuasion-30000-80000.txt"))
    p.add_argument("--deadline", type=float, default=540, help="seconds until everything stops (default 540)")
    p.add_argument("--train-deadline", type=float, default=None, help="seconds until training stops (default deadline - 150)")
    p.add_argument("--slots", type=int, default=9, help="training processes at once (default 9)")
    p.add_argument("--gpus", type=int, default=0, help="GPUs to spread them over (default: nvidia-smi -L)")
    p.add_argument("--startup", type=float, default=45, help="seconds a job needs before its first step (compile), for estimates")
    p.add_argument("--compare-jobs", type=int, default=6, help="streaming passes at once per evaluation (default 6)")
    p.add_argument("--compile-threads", type=int, default=2, help="TORCHINDUCTOR_COMPILE_THREADS per job (default 2)")
    p.add_argument("--gpu-args", default="", help="extra pretrain.py arguments, e.g. '--compile none'")
    a = p.parse_args(argv)
    if a.train_deadline is None:
        a.train_deadline = a.deadline - 150
    for path in (a.data, a.eval_text):
        if not os.path.exists(path):
            raise SystemExit("study.py: %s is missing (scripts/scale/pack-carry.sh prepares it)" % path)
    Study(a).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
