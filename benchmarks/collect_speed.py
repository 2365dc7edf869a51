"""Collection throughput (frames/s) by number of worker processes, and Push-T block contact.

    python -m benchmarks.collect_speed                      # TwoRoom pixels, 1 and 2 workers
    python -m benchmarks.collect_speed --env wm/PushT-v0 --policy scripted --obs pixels state
    python -m benchmarks.collect_speed --contact            # Push-T: how often each explorer moves the block

Each measurement runs ``envs.collect.collect`` end to end into a fresh HDF5 file (worker
start-up, simulation, rendering, IPC and the compressed write included) and reports
frames/s = recorded observations / wall time.  Timings on a shared machine are noisy:
run with nothing else busy, and compare worker counts within one invocation.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from envs.collect import collect
from envs.config import DataConfig, EnvConfig
from envs.pusht import block_moved


def collection_rate(env_id: str, obs_type: str, policy: str, workers: int, episodes: int, steps: int) -> dict:
    """Frames/s of one collection of ``episodes x steps`` with ``workers`` processes."""
    env_cfg = EnvConfig(id=env_id, obs_type=obs_type)
    data_cfg = DataConfig(episodes=episodes, episode_steps=steps, policy=policy, workers=workers)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.h5"
        start = time.perf_counter()
        data = collect(env_cfg, data_cfg, path, progress=False)
        wall = time.perf_counter() - start
        size_mb = path.stat().st_size / 1e6
    frames = len(data.obs)
    return {"env": env_id, "obs": obs_type, "workers": workers, "frames": frames, "wall_s": wall,
            "frames_per_s": frames / wall, "file_mb": size_mb}


def contact_fraction(policy: str, episodes: int, steps: int) -> float:
    """Fraction of Push-T steps in which the block moves (> 1 mm or > 0.5 deg)."""
    data = collect(EnvConfig(id="wm/PushT-v0"), DataConfig(episodes=episodes, episode_steps=steps, policy=policy),
                   None, progress=False)
    return float(np.mean(np.concatenate([block_moved(data.episode(i)["states"]) for i in range(episodes)])))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--env", default="wm/TwoRoom-v0")
    p.add_argument("--obs", nargs="+", default=["pixels"], choices=["pixels", "state"])
    p.add_argument("--policy", default="random_walk")
    p.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    p.add_argument("--episodes", type=int, default=40)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--contact", action="store_true", help="measure Push-T block contact by explorer instead")
    args = p.parse_args()
    os.environ.setdefault("MUJOCO_GL", "egl")
    print(f"machine: {os.cpu_count()} CPUs, MUJOCO_GL={os.environ['MUJOCO_GL']}")
    if args.contact:
        print("| explorer | steps where the block moves |\n|---|---|")
        for policy in ("uniform", "random_walk", "scripted"):
            print(f"| {policy} | {contact_fraction(policy, args.episodes, args.steps):.3f} |")
        return
    print("| env | obs | workers | frames | wall s | frames/s | file MB |\n|---|---|---|---|---|---|---|")
    for obs_type in args.obs:
        for workers in args.workers:
            r = collection_rate(args.env, obs_type, args.policy, workers, args.episodes, args.steps)
            print(f"| {r['env']} | {r['obs']} | {r['workers']} | {r['frames']} | {r['wall_s']:.1f} | "
                  f"{r['frames_per_s']:.0f} | {r['file_mb']:.1f} |")


if __name__ == "__main__":
    main()
