"""The kill experiment (issue 13): ``wm train`` killed with SIGKILL at random moments, then ``--resume``d.

Saves are slowed down inside the writer (each unit file is written in two halves with a pause
between, and there are pauses after the unit is renamed in, inside the ``LATEST`` write and
after the switch), so most kills land inside a checkpoint write.  After every kill the
checkpoint is inspected as ``wm eval`` and ``--resume`` would see it; the next start must remove
what the kill left.  Reported: kills, resumes, where the kills landed, ``stale`` (weights,
config and training state of different steps), ``unloadable``, ``lost`` (the checkpoint's step
went back), ``orphaned`` (leftovers of a kill still there after the next start, or anything
but the current unit at the end) and whether the final weights and training state are
bit-identical to an uninterrupted run::

    python tests/kill_checkpoints.py --kills 20 --seed 0     # prints the report as JSON
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import torch

from worldmodel.checkpoint import (
    LATEST,
    WEIGHTS,
    CheckpointError,
    checkpoint_dir,
    has_checkpoint,
    load_model,
    read_checkpoint_config,
    read_weights,
)
from worldmodel.train_state import load_train_state

REPO = Path(__file__).resolve().parents[1]
SETTINGS = ["data.episodes=12", "data.episode_steps=40", "train.batch_size=32", "train.eval_every=1000",
            "train.log_every=5", "model.hidden_dim=32", "train.threads=1"]
KEPT = {LATEST, "train_metrics.json"}

DRIVER = r'''
import os, sys, time
import worldmodel.checkpoint as c
import worldmodel.train as t
log, pause = open(os.environ["KILL_LOG"], "a", buffering=1), float(os.environ["KILL_PAUSE"])
mark = lambda what: log.write(what + "\n")
real_switch, real_atomic, real_save, real_fit = c._switch, c.atomic_write, t.Trainer.save, t.Trainer.fit

def write_file(path, data):  # a unit file, in two halves
    mark(f"inside {path.name}")
    with open(path, "wb") as fh:
        fh.write(data[: len(data) // 2]); fh.flush(); time.sleep(pause)
        fh.write(data[len(data) // 2:]); fh.flush(); os.fsync(fh.fileno())

def switch(ckpt_dir, name):
    mark("unit renamed, not switched"); time.sleep(pause)
    real_switch(ckpt_dir, name)
    mark("switched, old unit not removed"); time.sleep(pause)

def atomic_write(path, data):
    if path.name != "LATEST":
        return real_atomic(path, data)
    tmp = c.temp_path(path)
    with open(tmp, "wb") as fh:
        fh.write(data); fh.flush(); os.fsync(fh.fileno())
    mark("pointer written, not replaced"); time.sleep(pause)
    os.replace(tmp, path)

def save(self, extra=None):
    out = real_save(self, extra); mark("training"); return out

def fit(self, *args, **kwargs):
    mark("training"); return real_fit(self, *args, **kwargs)

c._write_file, c._switch, c.atomic_write, t.Trainer.save, t.Trainer.fit = write_file, switch, atomic_write, save, fit
from wm.cli import main
sys.exit(main(sys.argv[1:]))
'''


def _train_args(run: Path, data: Path, steps: int, every: int) -> list[str]:
    sets = [*SETTINGS, f"data.path={data}", f"train.steps={steps}", f"train.checkpoint_every={every}"]
    return ["train", "--out", str(run), "--quiet", *[x for s in sets for x in ("--set", s)]]


def _leftovers(ckpt: Path) -> set[str]:
    """Entries of ``ckpt`` other than the current unit, ``LATEST`` and the metrics file."""
    if not ckpt.is_dir():
        return set()
    try:
        current = checkpoint_dir(ckpt).name
    except CheckpointError:
        current = None
    return {p.name for p in ckpt.iterdir() if p.name not in KEPT and p.name != current}


def inspect(ckpt: Path) -> tuple[int | None, bool, bool]:
    """``(step, stale, unloadable)`` of the checkpoint ``wm eval`` / ``--resume`` would use now."""
    if not has_checkpoint(ckpt):
        return None, False, False
    try:
        config_step = read_checkpoint_config(ckpt)["step"]
        weights_step = int(read_weights(checkpoint_dir(ckpt) / WEIGHTS)[1]["step"])
        state_step = int(load_train_state(ckpt)["step"])
        load_model(ckpt)
    except CheckpointError:
        return None, False, True
    return state_step, not (config_step == weights_step == state_step), False


UNSEEDED = (".rng.python_", ".rng.numpy_")
"""Global RNGs the trainer does not seed (nothing in training draws from them): they differ between any
two processes, interrupted or not, so they are left out of the comparison."""


def _identical(a: Path, b: Path) -> bool:
    """Same weights and same training state (every tensor, bit for bit, but :data:`UNSEEDED`)."""
    wa, wb = read_weights(checkpoint_dir(a) / WEIGHTS)[0], read_weights(checkpoint_dir(b) / WEIGHTS)[0]
    sa, sb = load_train_state(a), load_train_state(b)

    def tensors(x, prefix=""):
        if torch.is_tensor(x):
            yield prefix, x
        elif isinstance(x, dict):
            for k, v in x.items():
                yield from tensors(v, f"{prefix}.{k}")
        elif isinstance(x, (list, tuple)):
            for i, v in enumerate(x):
                yield from tensors(v, f"{prefix}.{i}")

    ta, tb = ({k: v for k, v in tensors(s) if not k.startswith(UNSEEDED)} for s in (sa, sb))
    return (wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa) and ta.keys() == tb.keys()
            and all(torch.equal(ta[k], tb[k]) for k in ta) and sa["step"] == sb["step"])


def _start(args: list[str], log: Path, pause: float) -> subprocess.Popen:
    log.write_text("")
    env = {**os.environ, "KILL_LOG": str(log), "KILL_PAUSE": str(pause)}
    return subprocess.Popen([sys.executable, "-c", DRIVER, *args], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_training(proc: subprocess.Popen, log: Path) -> None:
    """Until the process has passed its start (checks, clean-up, restore) and trains, or has ended."""
    while proc.poll() is None and "training" not in log.read_text():
        time.sleep(0.01)


def _prepare(work: Path, steps: int, every: int) -> tuple[Path, list[str], list[str]]:
    """The dataset and an uninterrupted reference run; returns ``(run dir, its train args, ref args)``."""
    data_run = work / "collect"
    sets = [x for s in SETTINGS for x in ("--set", s)]
    subprocess.run([sys.executable, "-m", "wm.cli", "collect", "--out", str(data_run), "--quiet", *sets],
                   cwd=REPO, check=True)
    data = data_run / "data" / "dataset.h5"
    ref = _train_args(work / "reference", data, steps, every)
    subprocess.run([sys.executable, "-m", "wm.cli", *ref], cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return work / "killed", _train_args(work / "killed", data, steps, every), ref


def run_experiment(work: Path, kills: int = 20, seed: int = 0, steps: int = 80, every: int = 2,
                   pause: float = 0.05, window: float = 1.0) -> dict:
    """The experiment in ``work``; returns the report (see the module docstring)."""
    rng, work = random.Random(seed), Path(work)
    run, args, _ = _prepare(work, steps, every)
    ckpt, log = run / "checkpoints", work / "driver.log"
    report = {"kills": 0, "resumes": 0, "stale": 0, "unloadable": 0, "lost": 0, "orphaned": 0,
              "left_by_kills": 0, "removed_at_next_start": 0}
    phases: Counter[str] = Counter()
    last_step = 0
    while True:
        resume = has_checkpoint(ckpt)
        report["resumes"] += resume
        before = _leftovers(ckpt)
        proc = _start(args + (["--resume"] if resume else []), log, pause)
        _wait_training(proc, log)
        still = before & _leftovers(ckpt)
        report["removed_at_next_start"] += len(before - still)
        report["orphaned"] += len(still)
        if report["kills"] == kills or proc.poll() is not None:
            _, err = proc.communicate()
            if proc.returncode != 0:
                raise RuntimeError(f"wm train exited {proc.returncode}: {err.strip().splitlines()[-1:]}")
            break
        time.sleep(rng.uniform(0, window))
        if proc.poll() is not None:  # finished before the kill
            continue
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        report["kills"] += 1
        marks = log.read_text().splitlines()
        phases[marks[-1] if marks else "start"] += 1
        step, stale, unloadable = inspect(ckpt)
        report["stale"] += stale
        report["unloadable"] += unloadable
        report["lost"] += step is not None and step < last_step
        last_step = step if step is not None else last_step
        report["left_by_kills"] += len(_leftovers(ckpt))
    step, stale, unloadable = inspect(ckpt)
    report["stale"] += stale
    report["unloadable"] += unloadable
    report["orphaned"] += len(_leftovers(ckpt))
    report.update(final_step=step, kills_landed=dict(phases.most_common()),
                  bit_identical=_identical(work / "reference" / "checkpoints", ckpt))
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=80)
    p.add_argument("--every", type=int, default=2, help="train.checkpoint_every")
    p.add_argument("--pause", type=float, default=0.05, help="seconds of each pause inside a save")
    p.add_argument("--workdir", type=Path, help="(default: a temporary directory)")
    args = p.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="kill-checkpoints-"))
    report = run_experiment(work, args.kills, args.seed, args.steps, args.every, args.pause)
    print(json.dumps(report, indent=2))
    ok = report["stale"] == report["unloadable"] == report["lost"] == report["orphaned"] == 0
    return 0 if ok and report["bit_identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
