"""`wm train` and `wm eval` speed with and without a competing process: the old thread defaults vs ``wm``'s.

Two launchers train the same small state run (``configs/tworoom_state.yaml``, synthetic-free:
a tiny dataset collected once into a temp dir) for ``--steps`` steps, and evaluate latent MPC
(``--episodes`` episodes) on a run trained once at setup:

* ``torch defaults``: ``wm.cli.main`` called directly, so no process defaults are applied (torch's
  thread count, OpenMP's default wait policy) -- what ``wm`` did before ``wm/runtime.py``;
* ``wm defaults``: the ``wm`` entry point (passive waiting, free-core thread count, allocator;
  in ``wm eval`` the plan's population split over those threads).

Each is timed alone and beside a competing process that keeps one core busy with float32 matmuls
on one thread (another user's job). Launchers alternate ``--repeats`` times; medians are kept.
The environment of this process must not set ``OMP_NUM_THREADS`` / ``OMP_WAIT_POLICY``.

Writes ``benchmarks/results/threads_contention.json``.  Usage: ``python -m benchmarks.threads_contention``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.timing import machine_info, write_artifact
from wm.runtime import busy_cores

RESULTS = Path(__file__).resolve().parent / "results"
CONFIG = "configs/tworoom_state.yaml"
LAUNCHERS = {"torch defaults": "import sys; from wm.cli import main; sys.exit(main())",
             "wm defaults": "import sys; from wm.entry import main; sys.exit(main())"}
COMPETITOR = ("import torch; torch.set_num_threads(1); a = torch.randn(512, 512)\n"
              "while True: a = torch.tanh(a @ a)")


def clean_env() -> dict[str, str]:
    """This environment without the OpenMP and allocator settings under test."""
    return {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "WM_ALLOCATOR")}


def train_seconds(launcher: str, run: Path, steps: int) -> float:
    """Wall seconds of one ``wm train`` of ``steps`` steps into a fresh copy of ``run``'s data."""
    out = Path(tempfile.mkdtemp(dir=run.parent))
    args = ["train", "--config", CONFIG, "--out", str(out), "--quiet", "--set", f"train.steps={steps}",
            "--set", f"data.path={run / 'data' / 'dataset.h5'}", "--set", "train.probe_steps=0",
            "--set", f"train.checkpoint_every={steps}", "--set", f"train.eval_every={steps}"]
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", LAUNCHERS[launcher], *args], env=clean_env(), check=True,
                   capture_output=True)
    return time.perf_counter() - t0


def eval_seconds(launcher: str, trained: Path, episodes: int) -> float:
    """Wall seconds of one ``wm eval`` of latent MPC on ``trained`` (``episodes`` episodes)."""
    args = ["eval", "--config", str(trained / "config.yaml"), "--out", str(trained), "--quiet", "--force",
            "--set", f"eval.episodes={episodes}", "--set", "eval.agents=[mpc]"]
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", LAUNCHERS[launcher], *args], env=clean_env(), check=True,
                   capture_output=True)
    return time.perf_counter() - t0


def timed(run: Path, trained: Path, args: argparse.Namespace, competing: bool) -> dict[str, dict[str, float]]:
    """Median train steps/s and eval seconds per launcher, with or without the competitor running."""
    comp = subprocess.Popen([sys.executable, "-c", COMPETITOR], env=clean_env()) if competing else None
    try:
        secs: dict[str, list[float]] = {name: [] for name in LAUNCHERS}
        evals: dict[str, list[float]] = {name: [] for name in LAUNCHERS}
        for _ in range(args.repeats):
            for name in LAUNCHERS:
                secs[name].append(train_seconds(name, run, args.steps))
                evals[name].append(eval_seconds(name, trained, args.episodes))
    finally:
        if comp is not None:
            comp.kill()
            comp.wait()
    return {"train_steps_per_s": {name: args.steps / statistics.median(s) for name, s in secs.items()},
            "eval_s": {name: statistics.median(s) for name, s in evals.items()}}


def setup(tmp: Path) -> tuple[Path, Path]:
    """A run holding a tiny dataset, and a run trained on it (for the evaluations)."""
    run, trained = tmp / "data_run", tmp / "trained"
    wm = [sys.executable, "-m", "wm"]
    subprocess.run([*wm, "collect", "--config", CONFIG, "--out", str(run), "--quiet",
                    "--set", "data.episodes=40", "--set", "data.workers=1"], check=True, capture_output=True)
    subprocess.run([*wm, "train", "--config", CONFIG, "--out", str(trained), "--quiet", "--set", "train.steps=300",
                    "--set", f"data.path={run / 'data' / 'dataset.h5'}", "--set", "train.probe_steps=0"],
                   check=True, capture_output=True)
    return run, trained


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--episodes", type=int, default=10, help="episodes per wm eval")
    ap.add_argument("--out-dir", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        run, trained = setup(Path(tmp))
        res = {"config": CONFIG, "steps": args.steps, "episodes": args.episodes, "repeats": args.repeats,
               "cpus": os.cpu_count(), "machine": machine_info(),
               "loadavg_start": os.getloadavg()[0], "busy_cores_start": busy_cores(),
               "alone": timed(run, trained, args, competing=False),
               "competing": timed(run, trained, args, competing=True)}
    args.out_dir.mkdir(parents=True, exist_ok=True)
    out = args.out_dir / "threads_contention.json"
    write_artifact(res, out)
    print("| | " + " | ".join(LAUNCHERS) + " | speed-up of wm's defaults |")
    print("|---|---|---|---|")
    for case in ("alone", "competing"):
        a, b = (res[case]["train_steps_per_s"][n] for n in LAUNCHERS)
        print(f"| wm train steps/s, {case} | {a:.1f} | {b:.1f} | {b / a:.2f}x |")
        a, b = (res[case]["eval_s"][n] for n in LAUNCHERS)
        print(f"| wm eval s ({args.episodes} episodes), {case} | {a:.1f} | {b:.1f} | {a / b:.2f}x |")
    print(f"busy cores at start {res['busy_cores_start']}, one-minute load average {res['loadavg_start']:.2f}, "
          f"on {res['cpus']} cores; wrote {out}")


if __name__ == "__main__":
    main()
