"""The planner stage of ``wm train``: joint steps, then the planner's own episodes, then the predictor phase.

With ``train.planner_episodes`` / ``train.planner_offset_episodes`` set, training runs in three parts in
one run directory: the joint steps (``train.steps``), then latent MPC with that model records its episodes
into ``RUN/planner/episodes.h5`` (:mod:`agents.planner_data`), then the predictor phase
(``train.predictor_steps``) trains on the exploration data and those episodes together.  Each part is
resumable: a finished joint part is not redone, an episodes file (written atomically) is not recorded again.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from agents.factory import build_agent
from agents.planner_data import record_agent_episodes
from envs.collect import dataset_meta
from envs.dataset import FIELDS, Episodes, concat_episodes, read_dataset, write_dataset
from envs.offset import OffsetProtocol
from envs.registration import make_env
from wm.config import RunConfig
from worldmodel.checkpoint import load_model
from worldmodel.config import TrainConfig


def planner_episodes_path(run_dir: Path) -> Path:
    """Where a run keeps its planner episodes."""
    return run_dir / "planner" / "episodes.h5"


def wanted(cfg: TrainConfig) -> int:
    """How many planner episodes the training config asks for (0: no planner stage)."""
    return cfg.planner_episodes + cfg.planner_offset_episodes


def joint_part(cfg: TrainConfig) -> TrainConfig:
    """The config of what ``wm train`` runs before the planner stage: the joint steps alone (no predictor
    phase, probe or planner episodes), or ``cfg`` itself when there is no planner stage."""
    if not wanted(cfg):
        return cfg
    return dataclasses.replace(cfg, predictor_steps=0, probe_steps=0, planner_episodes=0, planner_offset_episodes=0)


def planner_seed_range(cfg: TrainConfig) -> list[int]:
    """``[first, count]`` of the planner episodes' reset seeds (task episodes first, then offset ones)."""
    return [cfg.planner_seed, wanted(cfg)]


def record_planner_episodes(cfg: RunConfig, run_dir: Path, env_kwargs: dict[str, Any], protocol: OffsetProtocol,
                            progress: bool = True) -> Path:
    """Record the planner episodes of ``cfg.train`` with the run's checkpoint into
    :func:`planner_episodes_path` (kept when already there) and return that path."""
    path = planner_episodes_path(run_dir)
    if path.exists():
        return path
    t = cfg.train
    model = load_model(run_dir / "checkpoints", t.device)
    steps = cfg.data.episode_steps
    env = make_env(cfg.env.id, max_episode_steps=max(steps, cfg.eval.offset_budget) + 1, **env_kwargs)
    if hasattr(env.unwrapped, "terminate_on_success"):
        env.unwrapped.terminate_on_success = False
    try:
        agent = build_agent("mpc", cfg.plan, env.action_space, model, device=t.device)
        first = t.planner_seed
        task = range(first, first + t.planner_episodes)
        offset = range(task.stop, task.stop + t.planner_offset_episodes)
        episodes = record_agent_episodes(env, agent, [(task, steps, None), (offset, cfg.eval.offset_budget, protocol)],
                                         t.planner_noise, first, progress)
    finally:
        env.close()
    meta = {**dataset_meta(cfg.env, cfg.data), "policy": "mpc", "seed": first,
            "seed_ranges": [planner_seed_range(t)]}
    write_dataset(path, concat_episodes(episodes, meta))
    return path


def with_planner_episodes(data: Episodes, path: Path) -> Episodes:
    """``data`` followed by the planner episodes of ``path`` (same env and observation shapes)."""
    extra = read_dataset(path)
    if extra.obs.shape[1:] != data.obs.shape[1:] or extra.meta.get("env_id") != data.meta.get("env_id"):
        raise ValueError(f"{path}: planner episodes are {extra.meta.get('env_id')} {extra.obs.shape[1:]}, "
                         f"the dataset {data.meta.get('env_id')} {data.obs.shape[1:]}")
    return Episodes(**{f: np.concatenate([getattr(data, f), getattr(extra, f)]) for f in FIELDS}, meta=dict(data.meta))
