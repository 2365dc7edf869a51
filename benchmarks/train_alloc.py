"""Pixel training samples/s vs batch size, glibc's default allocator vs ``wm``'s process defaults, and
``wm``'s with the encoder in bfloat16 (``train.precision: bf16``).

Each measurement is a fresh child process (``WM_ALLOCATOR=system`` or ``retain``, see
``wm/runtime.py``) training the pixel model of ``configs/tworoom_pixels.yaml`` on synthetic
episodes for ``--steps`` timed steps after two warm-up steps, one thread. The three modes
(``system``, ``retain``, ``retain_bf16``) are run alternately ``--repeats`` times per batch size and
the median is kept, so machine load hits all alike; the ratios to ``system`` are the numbers to
read. Minor page faults per sample (from ``getrusage``) show the allocator's cause; the peak
resident memory shows the cost.

Writes ``benchmarks/results/train_alloc.json``.  Usage: ``python -m benchmarks.train_alloc [--quick]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
PIXELS = "configs/tworoom_pixels.yaml"
MODES = {"system": ("system", "fp32"), "retain": ("retain", "fp32"), "retain_bf16": ("retain", "bf16")}
"""Each mode's ``WM_ALLOCATOR`` and ``train.precision``."""


def child(batch: int, steps: int, precision: str = "fp32") -> None:
    """Measure in this process (called in the child); print one JSON line.

    ``samples_per_s`` is wall-clock; ``samples_per_cpu_s`` divides by this process's CPU time
    (user + system, all threads) over the same timed steps, which a loaded machine disturbs far less.
    """
    import resource
    import time

    from wm.runtime import configure_process
    applied = configure_process()
    from benchmarks.scaling import warm_trainer  # imports torch, after the allocator is set
    trainer = warm_trainer(PIXELS, batch, steps, threads=1, precision=precision)
    before = resource.getrusage(resource.RUSAGE_SELF)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(steps):
        trainer.train_step()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    after = resource.getrusage(resource.RUSAGE_SELF)
    samples = batch * steps
    print(json.dumps({"samples_per_s": samples / wall, "samples_per_cpu_s": samples / cpu,
                      "faults_per_sample": (after.ru_minflt - before.ru_minflt) / samples,
                      "peak_mib": after.ru_maxrss / 1024, "applied": applied}))


def measure(mode: str, batch: int, steps: int) -> dict:
    """One child run in ``mode`` (its allocator and training precision)."""
    allocator, precision = MODES[mode]
    env = {**os.environ, "WM_ALLOCATOR": allocator, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-m", "benchmarks.train_alloc", "--child", str(batch), str(steps),
                          "--precision", precision], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def sweep(batches: list[int], steps: int, repeats: int) -> dict:
    """Median samples/s and faults/sample per mode and batch, modes alternated."""
    runs: dict[str, dict[int, list[dict]]] = {m: {b: [] for b in batches} for m in MODES}
    for _ in range(repeats):
        for b in batches:
            for m in MODES:
                runs[m][b].append(measure(m, b, steps))
    keys = ("samples_per_s", "samples_per_cpu_s", "faults_per_sample", "peak_mib")
    return {m: {k: [statistics.median(r[k] for r in runs[m][b]) for b in batches] for k in keys} for m in MODES}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="batches 16 and 64, 2 steps, 1 repeat (< 1 minute)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--child", nargs=2, type=int, metavar=("BATCH", "STEPS"), help=argparse.SUPPRESS)
    ap.add_argument("--precision", default="fp32", help=argparse.SUPPRESS)
    ap.add_argument("--out-dir", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    if args.child:
        child(*args.child, precision=args.precision)
        return
    batches, steps, repeats = ([16, 64], 2, 1) if args.quick else ([16, 64, 256], 10, args.repeats)
    from benchmarks.timing import machine_info, write_artifact
    res = {"config": PIXELS, "steps": steps, "repeats": repeats, "batch_sizes": batches,
           "machine": machine_info(), **sweep(batches, steps, repeats)}
    for mode, suffix in (("retain", ""), ("retain_bf16", "_bf16")):
        for key, unit in (("ratio", "samples_per_s"), ("ratio_cpu", "samples_per_cpu_s")):
            res[key + suffix] = [r / s for r, s in zip(res[mode][unit], res["system"][unit], strict=True)]
    args.out_dir.mkdir(parents=True, exist_ok=True)
    out = args.out_dir / ("train_alloc_quick.json" if args.quick else "train_alloc.json")
    write_artifact(res, out)
    head = (f"batch {b}: samples per s / per CPU-s (faults/sample, peak RSS)" for b in batches)
    print("| allocator | " + " | ".join(head) + " |")
    print("|---|" + "---|" * len(batches))
    for m in MODES:
        r = res[m]
        cells = [f"{s:.0f} / {c:.0f} ({f:.0f} faults, {p:.0f} MiB)" for s, c, f, p in
                 zip(r["samples_per_s"], r["samples_per_cpu_s"], r["faults_per_sample"], r["peak_mib"], strict=True)]
        print(f"| {m} | " + " | ".join(cells) + " |")
    for suffix in ("", "_bf16"):
        pairs = zip(res["ratio" + suffix], res["ratio_cpu" + suffix], strict=True)
        print(f"| retain{suffix} / system | " + " | ".join(f"{r:.2f}x / {c:.2f}x" for r, c in pairs) + " |")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
