"""Does the shipped rows' training reproduce at this commit?

``python -m benchmarks.reeval`` re-runs the rows' evaluations; this re-runs the start of their training.
Where a row's run directory is still on this machine, the row's own config and dataset train again at
this commit, on the thread count the row trained with, for the first ``--steps`` joint steps (with the
row's full learning-rate schedule: the trainer stops early, it does not shorten ``train.steps``). Every
scalar the row logged to TensorBoard at those steps (losses, regulariser terms, learning rate, and the
collapse and probe diagnostics where a diagnostics step falls inside) is compared with the re-run's, the
throughput excepted. Bit-identical scalars show that the training path (sampler, model, losses,
regulariser, optimiser) computes the same run at this commit; the planner stage and predictor phase that
follow the joint steps are not re-run.

Usage: ``python -m benchmarks.retrain [NAME ...] [--steps N] [--out FILE]``
(default: every row whose run directory exists, 200 steps; ``benchmarks/results/retrain.json``).
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import torch

from benchmarks.reeval import RESULTS, row_names
from benchmarks.timing import machine_info, write_artifact
from envs.dataset import read_dataset
from wm import planner_stage
from wm.config import load_config
from wm.pipeline import dataset_path
from wm.provenance import code_at_start
from worldmodel.train import Trainer

SKIPPED_TAGS = ("perf/",)
"""Scalars that measure the machine, not the run."""


def logged_scalars(tb_dir: Path, max_step: int) -> dict[tuple[str, int], float]:
    """``{(tag, step): value}`` of the scalars under ``tb_dir`` at steps ``<= max_step`` (first file wins)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    found: dict[tuple[str, int], float] = {}
    for path in sorted(tb_dir.glob("events.out.tfevents.*")):
        acc = EventAccumulator(str(path), size_guidance={"scalars": 0})
        acc.Reload()
        for tag in acc.Tags()["scalars"]:
            if tag.startswith(SKIPPED_TAGS):
                continue
            for ev in acc.Scalars(tag):
                if ev.step <= max_step:
                    found.setdefault((tag, ev.step), float(ev.value))
    return found


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def compare_scalars(row: dict[tuple[str, int], float], now: dict[tuple[str, int], float]) -> dict[str, Any]:
    """How many of the row's scalars the re-run logged bit-identically, the largest difference and the
    earliest differing ``(tag, step)`` (a scalar the re-run did not log counts as not identical)."""
    shared = [k for k in row if k in now]
    differing = [k for k in shared if not _same(row[k], now[k])]
    first = min(differing, key=lambda k: (k[1], k[0]), default=None)
    return {"scalars": len(row), "logged_now": len(shared), "identical": len(shared) - len(differing),
            "max_abs_diff": max((abs(row[k] - now[k]) for k in differing), default=0.0),
            "first_difference": None if first is None else {"tag": first[0], "step": first[1]}}


def retrain(run: Path, steps: int, threads: int, out: Path) -> Path:
    """Re-run the first ``steps`` joint steps of the run in ``run`` into ``out``; its TensorBoard folder."""
    cfg = load_config(run / "config.yaml")
    data = read_dataset(dataset_path(cfg, run))
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        Trainer(cfg.model, planner_stage.joint_part(cfg.train), data, out, progress=False).fit(stop_after=steps)
    finally:
        torch.set_num_threads(before)  # the caller's thread count, whatever the row trained on
    return out / "tb"


def check_row(row: dict[str, Any], steps: int) -> dict[str, Any]:
    """The record of one row: its commit, threads, steps and the scalar comparison (or why it was skipped).

    A row that did not record its training's thread count is re-run on two threads (``wm train``'s default
    on an idle two-core machine), then on one if that differs; the record says which matched."""
    run = Path(row.get("run_dir", ""))
    base = {"name": row["name"], "row_commit": row.get("git_commit", "")[:10]}
    metrics_path = run / "checkpoints" / "train_metrics.json"
    if not (run / "tb").is_dir() or not metrics_path.is_file():
        return {**base, "status": f"skipped: no run directory with training logs at {row.get('run_dir')!r}"}
    recorded = json.loads(metrics_path.read_text()).get("threads", row.get("train_threads"))
    shipped = logged_scalars(run / "tb", steps)
    for threads in [int(recorded)] if recorded else [2, 1]:
        with tempfile.TemporaryDirectory() as tmp:
            now = logged_scalars(retrain(run, steps, threads, Path(tmp)), steps)
        cmp = compare_scalars(shipped, now)
        status = "identical" if cmp["scalars"] and cmp["identical"] == cmp["scalars"] else "differs"
        if status == "identical":
            break
    return {**base, "threads": threads, "threads_recorded": bool(recorded), "steps": steps, **cmp,
            "status": status}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="rows (results file names); default: all")
    ap.add_argument("--steps", type=int, default=200, help="joint steps re-run per row")
    ap.add_argument("--results-dir", type=Path, default=RESULTS)
    ap.add_argument("--out", type=Path, default=RESULTS / "retrain.json")
    args = ap.parse_args(argv)
    if args.steps < 1:
        ap.error(f"--steps: must be >= 1, got {args.steps}")
    commit, dirty = code_at_start()
    names = args.names or row_names(args.results_dir)
    records = []
    for name in names:
        rec = check_row(json.loads((args.results_dir / f"{name}.json").read_text()), args.steps)
        records.append(rec)
        print(f"{name:28s} {rec['status']:9s} {rec.get('identical', '-')}/{rec.get('scalars', '-')} scalars "
              f"identical over {rec.get('steps', '-')} steps on {rec.get('threads', '-')} thread(s)")
    write_artifact({"machine": {**machine_info(), "git_commit": commit, "git_dirty": dirty}, "rows": records},
                   args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
