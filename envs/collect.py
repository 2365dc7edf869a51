"""Reward-free data collection into one dataset file, optionally in parallel processes."""

from __future__ import annotations

import multiprocessing as mp
import subprocess
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from envs.config import DataConfig, EnvConfig
from envs.dataset import Episodes, append_dataset, concat_episodes, write_dataset
from envs.explore import make_policy
from envs.registration import make_env


def code_version() -> str:
    """The git commit of the code, or ``unknown`` outside a checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "--verify", "-q", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def record_episode(env, policy, steps: int, seed: int) -> dict[str, np.ndarray]:
    """Run ``policy`` for up to ``steps`` steps from ``reset(seed=seed)``.

    Returns ``obs (T+1, ...)``, ``states (T+1, S)``, ``actions (T, A)``.
    """
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    policy.reset(rng)
    base = env.unwrapped
    obs_list, states, actions = [obs], [base.state_vector()], []
    for _ in range(steps):
        action = policy(obs, states[-1])
        obs, _, terminated, truncated, _ = env.step(action)
        obs_list.append(obs)
        states.append(base.state_vector())
        actions.append(action)
        if terminated or truncated:
            break
    return {"obs": np.stack(obs_list), "states": np.stack(states).astype(np.float32),
            "actions": np.stack(actions).astype(np.float32)}


def _collect_chunk(args: tuple[EnvConfig, DataConfig, list[int]]) -> list[dict[str, np.ndarray]]:
    env_cfg, data_cfg, seeds = args
    env = make_env(env_cfg.id, max_episode_steps=data_cfg.episode_steps, **env_cfg.make_kwargs())
    if hasattr(env.unwrapped, "terminate_on_success"):
        env.unwrapped.terminate_on_success = False  # exploration does not stop at the goal
    if hasattr(env.unwrapped, "goal_required"):
        env.unwrapped.goal_required = False  # nor needs a goal observation (goal_source: dataset has none yet)
    policy = make_policy(data_cfg.policy, env.action_space, data_cfg.smoothing, env, data_cfg.noise)
    eps = [record_episode(env, policy, data_cfg.episode_steps, s) for s in seeds]
    env.close()
    return eps


def dataset_meta(env_cfg: EnvConfig, data_cfg: DataConfig) -> dict[str, Any]:
    env = make_env(env_cfg.id, **env_cfg.make_kwargs())
    meta = {"env_id": env_cfg.id, "obs_type": env_cfg.obs_type, "env_kwargs": env_cfg.make_kwargs(),
            "action_low": env.action_space.low, "action_high": env.action_space.high,
            "policy": data_cfg.policy, "seed": data_cfg.seed, "code_version": code_version()}
    env.close()
    return meta


def collect(env_cfg: EnvConfig, data_cfg: DataConfig, out: str | Path | None = None,
            append: bool = False, progress: bool = True) -> Episodes:
    """Collect ``data_cfg.episodes`` episodes with ``data_cfg.workers`` processes.

    Episode ``i`` is seeded with ``data_cfg.seed + i`` whatever the number of workers, so
    the result does not depend on it.  Writes ``out`` (refusing to overwrite unless
    ``append``) when given.
    """
    if out is not None and Path(out).exists() and not append:
        raise FileExistsError(f"{out}: dataset exists (pass append=True / --append to add to it)")
    meta = {**dataset_meta(env_cfg, data_cfg), "seed_ranges": [[data_cfg.seed, data_cfg.episodes]]}
    seeds = [data_cfg.seed + i for i in range(data_cfg.episodes)]
    chunk = max(1, min(16, len(seeds) // (4 * data_cfg.workers) or 1))
    jobs = [(env_cfg, data_cfg, seeds[i:i + chunk]) for i in range(0, len(seeds), chunk)]
    bar = tqdm(total=len(seeds), desc="collect", unit="ep", disable=not progress)
    episodes: list[dict[str, np.ndarray]] = []
    if data_cfg.workers == 1:
        for job in jobs:
            episodes += _collect_chunk(job)
            bar.update(len(job[2]))
    else:
        with ProcessPoolExecutor(data_cfg.workers, mp_context=mp.get_context("spawn")) as pool:
            for eps in pool.map(_collect_chunk, jobs):
                episodes += eps
                bar.update(len(eps))
    bar.close()
    data = concat_episodes(episodes, meta)
    if out is not None:
        if append and Path(out).exists():
            append_dataset(out, data)
        else:
            write_dataset(out, data)
    return data
