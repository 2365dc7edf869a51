"""Helpers shared by the speed benchmarks: timing, machine description, one process per thread count."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from wm.provenance import code_at_start, versions


def median_time(fn: Callable[[], object], repeats: int, warmup: int = 2) -> float:
    """Median seconds of ``fn()`` over ``repeats`` calls after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def interleaved_medians(fns: list[Callable[[], object]], repeats: int, warmup: int = 1) -> list[float]:
    """Median seconds of each of ``fns``, timed round-robin (``repeats`` rounds after ``warmup`` rounds).

    Interleaving spreads the bursts of other processes on a shared machine over every
    variant alike, so ratios between them stay fair even when absolute times are noisy.
    """
    times: list[list[float]] = [[] for _ in fns]
    for r in range(warmup + repeats):
        for fn, ts in zip(fns, times, strict=True):
            t0 = time.perf_counter()
            fn()
            if r >= warmup:
                ts.append(time.perf_counter() - t0)
    return [statistics.median(ts) for ts in times]


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else ``platform.processor()``."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> dict:
    """CPU model and count, package versions, git commit (and whether the library was dirty: the process's
    first answer, :func:`wm.provenance.code_at_start`) and UTC date of a measurement."""
    commit, dirty = code_at_start()
    return {"cpu": cpu_model(), "cpu_count": os.cpu_count(), "versions": versions(), "git_commit": commit,
            "git_dirty": dirty, "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def write_artifact(res: dict, out: Path) -> None:
    """Write a benchmark's results ``res`` to ``out`` as indented JSON, atomically."""
    from worldmodel.checkpoint import atomic_write

    atomic_write(out, json.dumps(res, indent=1).encode())


def linear_fit(x: list[float], y: list[float]) -> dict:
    """Least-squares ``y = slope * x + intercept`` and its coefficient of determination ``r2``."""
    xs, ys = np.asarray(x, float), np.asarray(y, float)
    slope, intercept = np.polyfit(xs, ys, 1)
    resid = ys - (slope * xs + intercept)
    total = float(((ys - ys.mean()) ** 2).sum())
    r2 = 1.0 - float((resid**2).sum()) / total if total > 0 else 1.0
    return {"slope": float(slope), "intercept": float(intercept), "r2": r2}


def run_worker(module: str, args: list[str], threads: int) -> dict:
    """Run ``python -m module --worker --threads N args`` in a fresh process; its last stdout line is JSON.

    The child gets ``OMP_WAIT_POLICY=PASSIVE`` unless the caller set it: on a shared machine,
    spinning OpenMP threads that lose their core make a 2-thread matmul 30x slower than 1 thread.
    """
    env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
    cmd = [sys.executable, "-m", module, "--worker", "--threads", str(threads), *args]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{module} worker ({threads} threads) failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])
