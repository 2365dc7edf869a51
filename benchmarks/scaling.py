"""Scaling: plan time vs samples and horizon, training throughput vs batch size, memory over 1,000 episodes.

Measured in one process on this machine (``--threads``, default 1, ``OMP_WAIT_POLICY=PASSIVE``
recommended on a shared machine):

* CEM plan time (``MPCAgent``'s latent cost, pixel model's predictor, float32 planning
  rollout) vs samples at horizon 5 and vs horizon at 300 samples, each with a least-squares
  line and its R^2 (the work is linear in both, so the fit should be near 1);
* training samples/s (windows of ``pred_steps + 1`` frames per sample) vs batch size, for the
  state and the pixel model, on synthetic episodes (throughput does not depend on the data), with
  the allocator setting ``wm`` applies at start (``wm/runtime.py``; ``--system-allocator`` for glibc's
  default, which ``python -m benchmarks.train_alloc`` compares side by side);
* resident memory (``/proc/self/statm``) at every episode of a 1,000-episode evaluation of a
  small-budget latent MPC agent on TwoRoom (state, 50-step episodes): the mean RSS of the first
  and last 100 episodes, and the peak.

Writes ``benchmarks/results/scaling.json`` and ``scaling_plan.png``, ``scaling_train.png``,
``scaling_memory.png`` (``--quick``: ``scaling_quick.json`` and no plots, < 1 minute).

Usage: ``python -m benchmarks.scaling [--quick] [--threads 1]``
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from agents.config import PlanConfig
from agents.evaluate import evaluate
from agents.mpc import MPCAgent
from agents.planners import CEM
from benchmarks.timing import interleaved_medians, linear_fit, machine_info, write_artifact
from envs.dataset import Episodes
from envs.registration import make_env
from wm.config import load_config
from wm.runtime import keep_freed_memory
from worldmodel.model import WorldModel
from worldmodel.train import Trainer

RESULTS = Path(__file__).resolve().parent / "results"
PIXELS, STATE = "configs/tworoom_pixels.yaml", "configs/tworoom_state.yaml"


def plan_fn(model: WorldModel, env, samples: int, horizon: int, iterations: int) -> Callable[[], torch.Tensor]:
    """One CEM plan of ``samples x iterations`` at ``horizon`` from the env's first observation."""
    obs, info = env.reset(seed=0)
    plan = PlanConfig(samples=samples, iterations=iterations, elites=min(30, samples), horizon=horizon)
    agent = MPCAgent(model, CEM(samples, iterations, plan.elites, seed=0), plan,
                     env.action_space.low, env.action_space.high)
    agent.reset(obs, info)
    agent._begin(obs)
    return lambda: agent.planner.plan(agent._cost, horizon, agent.low, agent.high)


def plan_scaling(samples: list[int], horizons: list[int], iterations: int, repeats: int) -> dict:
    """Plan ms vs samples (horizon 5) and vs horizon (300 samples), timed round-robin, with linear fits."""
    cfg = load_config(PIXELS, [])
    env = make_env(cfg.env.id, **cfg.env.make_kwargs())
    torch.manual_seed(0)
    model = WorldModel(cfg.model, env.observation_space.shape, env.action_space.shape[0]).eval()
    fns = [plan_fn(model, env, n, 5, iterations) for n in samples]
    fns += [plan_fn(model, env, 300, h, iterations) for h in horizons]
    ms = [1000 * t for t in interleaved_medians(fns, repeats)]
    env.close()
    by_n, by_h = ms[:len(samples)], ms[len(samples):]
    return {"iterations": iterations, "repeats": repeats, "samples": samples, "ms_by_samples": by_n,
            "fit_samples": linear_fit(samples, by_n), "horizons": horizons, "ms_by_horizon": by_h,
            "fit_horizon": linear_fit(horizons, by_h)}


def synthetic_episodes(obs_shape: tuple[int, ...], action_dim: int, episodes: int = 20, steps: int = 50) -> Episodes:
    """Random episodes of the right shapes and dtypes (uint8 images or float32 states)."""
    rng = np.random.default_rng(0)
    n_obs = episodes * (steps + 1)
    if len(obs_shape) == 3:
        obs = rng.integers(0, 256, (n_obs, *obs_shape), dtype=np.uint8)
    else:
        obs = rng.standard_normal((n_obs, *obs_shape)).astype(np.float32)
    return Episodes(obs=obs, states=rng.standard_normal((n_obs, 4)).astype(np.float32),
                    actions=rng.uniform(-1, 1, (episodes * steps, action_dim)).astype(np.float32),
                    episode_lengths=np.full(episodes, steps, np.int64))


def warm_trainer(config: str, batch: int, steps: int, threads: int, precision: str = "fp32") -> Trainer:
    """A trainer of ``config``'s model on synthetic episodes at ``batch`` (``train.precision``), after 2 warm-up
    steps."""
    cfg = load_config(config, [])
    env = make_env(cfg.env.id, **cfg.env.make_kwargs())
    data = synthetic_episodes(env.observation_space.shape, env.action_space.shape[0])
    env.close()
    tcfg = dataclasses.replace(cfg.train, batch_size=batch, steps=steps + 2, threads=threads, precision=precision)
    trainer = Trainer(cfg.model, tcfg, data, progress=False)
    for _ in range(2):
        trainer.train_step()
    return trainer


def train_rate(config: str, batch: int, steps: int, threads: int) -> float:
    """Training samples/s of ``config``'s model at ``batch`` over ``steps`` steps (after 2 warm-up steps)."""
    trainer = warm_trainer(config, batch, steps, threads)
    t0 = time.perf_counter()
    for _ in range(steps):
        trainer.train_step()
    return batch * steps / (time.perf_counter() - t0)


def rss_mb() -> float:
    """Resident set size of this process in MiB (``/proc/self/statm``)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class RSSProbe:
    """Wraps an agent; records the process RSS at every episode start."""

    def __init__(self, agent):
        self.agent, self.rss = agent, []

    def seed(self, seed: int) -> None:
        self.agent.seed(seed)

    def reset(self, obs: np.ndarray, info: dict) -> None:
        self.rss.append(rss_mb())
        self.agent.reset(obs, info)

    def act(self, obs: np.ndarray) -> np.ndarray:
        return self.agent.act(obs)


def memory_over_episodes(episodes: int, max_steps: int) -> dict:
    """RSS per episode of a cheap latent MPC agent (untrained state model, 16 x 2 CEM, horizon 3)."""
    cfg = load_config(STATE, [])
    env = make_env(cfg.env.id, **cfg.env.make_kwargs())
    torch.manual_seed(0)
    model = WorldModel(cfg.model, env.observation_space.shape, env.action_space.shape[0]).eval()
    plan = PlanConfig(samples=16, iterations=2, elites=4, horizon=3)
    probe = RSSProbe(MPCAgent(model, CEM(16, 2, 4, seed=0), plan, env.action_space.low, env.action_space.high))
    env.close()
    t0 = time.perf_counter()
    evaluate(probe, cfg.env.id, episodes, seed=0, env_kwargs=cfg.env.make_kwargs(), max_steps=max_steps,
             progress=False)
    k = max(1, min(100, episodes // 10))
    return {"episodes": episodes, "max_steps": max_steps, "window": k, "rss_mb": probe.rss,
            "first_mean_mb": float(np.mean(probe.rss[:k])), "last_mean_mb": float(np.mean(probe.rss[-k:])),
            "peak_mb": float(max(probe.rss)), "wall_s": time.perf_counter() - t0}


def plot(res: dict, out_dir: Path) -> list[str]:
    """Three PNGs (plan, training, memory) under ``out_dir``; returns their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = res["plan"]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for ax, key, ms, fit, label in ((axes[0], "samples", "ms_by_samples", "fit_samples", "samples (horizon 5)"),
                                    (axes[1], "horizons", "ms_by_horizon", "fit_horizon", "horizon (300 samples)")):
        x, f = np.asarray(p[key]), p[fit]
        ax.plot(x, p[ms], "o", label="measured")
        ax.plot(x, f["slope"] * x + f["intercept"], "-", label=f"linear fit, R$^2$ = {f['r2']:.3f}")
        ax.set(xlabel=label, ylabel="CEM plan time (ms)")
        ax.legend()
    fig.suptitle(f"CEM x {p['iterations']} iterations, pixel model's predictor, {res['threads']} thread(s)")
    names = ["scaling_plan.png", "scaling_train.png", "scaling_memory.png"]
    fig.tight_layout()
    fig.savefig(out_dir / names[0], dpi=110)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for kind, t in res["train"].items():
        ax.plot(t["batch_sizes"], t["samples_per_s"], "o-", label=kind)
    ax.set(xscale="log", xlabel="batch size", ylabel="training samples/s", title="Training throughput")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / names[1], dpi=110)
    m = res["memory"]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(np.arange(1, len(m["rss_mb"]) + 1), m["rss_mb"])
    ax.set(xlabel="episode", ylabel="RSS (MiB)", title=f"Memory over {m['episodes']} evaluation episodes")
    fig.tight_layout()
    fig.savefig(out_dir / names[2], dpi=110)
    plt.close("all")
    return names


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="small sweeps, 100 episodes, no plots (< 1 minute)")
    ap.add_argument("--out-dir", type=Path, default=RESULTS)
    ap.add_argument("--system-allocator", action="store_true", help="glibc's default instead of wm's setting")
    args = ap.parse_args(argv)
    allocator = "system" if args.system_allocator or not keep_freed_memory() else "retain"
    torch.set_num_threads(args.threads)
    q = args.quick
    samples = [50, 100, 200] if q else [50, 100, 200, 400, 800, 1600]
    horizons = [2, 5, 10] if q else [2, 5, 10, 20, 40]
    batches = [16, 64] if q else [16, 32, 64, 128, 256]
    res = {"threads": args.threads, "quick": q, "machine": machine_info(),
           "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"), "allocator": allocator}
    res["plan"] = plan_scaling(samples, horizons, iterations=5 if q else 30, repeats=2 if q else 7)
    res["train"] = {kind: {"config": cfg, "steps": steps, "batch_sizes": batches,
                           "samples_per_s": [train_rate(cfg, b, steps, args.threads) for b in batches]}
                    for kind, cfg, steps in (("state", STATE, 5 if q else 200), ("pixels", PIXELS, 2 if q else 20))}
    res["memory"] = memory_over_episodes(100 if q else 1000, 50)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    if not q:
        res["plots"] = plot(res, args.out_dir)
    out = args.out_dir / ("scaling_quick.json" if q else "scaling.json")
    write_artifact(res, out)
    p, m = res["plan"], res["memory"]
    print(f"plan ms vs samples {p['samples']}: {[round(x, 1) for x in p['ms_by_samples']]} fit {p['fit_samples']}")
    print(f"plan ms vs horizon {p['horizons']}: {[round(x, 1) for x in p['ms_by_horizon']]} fit {p['fit_horizon']}")
    for kind, t in res["train"].items():
        print(f"train {kind} samples/s vs batch {batches}: {[round(x) for x in t['samples_per_s']]}")
    print(f"RSS over {m['episodes']} episodes: first {m['window']} {m['first_mean_mb']:.1f} MiB, "
          f"last {m['window']} {m['last_mean_mb']:.1f} MiB, peak {m['peak_mb']:.1f} MiB ({m['wall_s']:.0f} s)")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
