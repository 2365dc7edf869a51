"""Minari interchange: export a dataset file to Minari, import a (local) Minari dataset.

Nothing is downloaded: datasets live under ``root`` (Minari's ``MINARI_DATASETS_PATH``,
set only for the duration of a call) or are opened from their directory.

Mapping (one Minari episode per episode of the file):

====================  =========================================================
Minari                dataset file
====================  =========================================================
``observations``      ``obs (T+1, ...)`` (uint8 images stored losslessly, no JPEG)
``actions``           ``actions (T, A)``
``infos["state"]``    ``states (T+1, S)`` (the true low-dim state)
``rewards``           zeros: the exploration data is reward-free
``terminations``      all False; ``truncations``: True at the last step
env spec              the ``wm/`` id with the recorded constructor kwargs
====================  =========================================================

On import, states come from ``infos["state"]``, else from vector observations (a dict
observation is read at ``obs_key``, e.g. ``observation`` for gymnasium-robotics envs).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from envs.dataset import DatasetError, Episodes, concat_episodes, read_dataset, write_dataset


@contextlib.contextmanager
def _datasets_root(root: str | Path | None) -> Iterator[None]:
    """Point Minari at ``root`` for the duration of the block (restored afterwards)."""
    if root is None:
        yield
        return
    old = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(Path(root).resolve())
    try:
        yield
    finally:
        if old is None:
            del os.environ["MINARI_DATASETS_PATH"]
        else:
            os.environ["MINARI_DATASETS_PATH"] = old


def _env_spec(meta: dict[str, Any]) -> gym.envs.registration.EnvSpec | None:
    env_id = meta["env_id"]
    if env_id not in gym.registry:
        return None
    return dataclasses.replace(gym.spec(env_id), kwargs={**gym.spec(env_id).kwargs, **meta.get("env_kwargs", {})})


def export_minari(path: str | Path, dataset_id: str, root: str | Path | None = None) -> Path:
    """Write the dataset file ``path`` as Minari dataset ``dataset_id``; returns its directory.

    Refuses an existing ``dataset_id`` (Minari never overwrites).
    """
    import minari
    from minari.data_collector import EpisodeBuffer

    data = read_dataset(path)
    buffers = []
    for i in range(data.num_episodes):
        ep = data.episode(i)
        t = len(ep["actions"])
        buffers.append(EpisodeBuffer(
            id=i, observations=ep["obs"], actions=ep["actions"], rewards=np.zeros(t),
            terminations=np.zeros(t, dtype=bool), truncations=np.arange(t) == t - 1,
            infos={"state": ep["states"]}))
    low, high = np.asarray(data.meta["action_low"], np.float32), np.asarray(data.meta["action_high"], np.float32)
    if data.obs.dtype == np.uint8:
        obs_space = gym.spaces.Box(0, 255, data.obs.shape[1:], np.uint8)
    else:
        obs_space = gym.spaces.Box(-np.inf, np.inf, data.obs.shape[1:], np.float32)
    with _datasets_root(root), warnings.catch_warnings():
        # Minari warns that author / email / eval env are unset: they are optional metadata
        warnings.filterwarnings("ignore", message=r".*(author|eval_env).*", category=UserWarning)
        dataset = minari.create_dataset_from_buffers(
            dataset_id, buffers, env=_env_spec(data.meta), action_space=gym.spaces.Box(low, high, dtype=np.float32),
            observation_space=obs_space, algorithm_name=f"wm-explore:{data.meta.get('policy')}",
            code_permalink=str(data.meta.get("code_version", "")), jpeg_encoding=False,
            description=f"exported from {Path(path).name} ({data.meta['env_id']}, {data.meta['obs_type']})")
        return Path(dataset.storage.data_path).parent


def _open(source: str | Path, root: str | Path | None):
    import minari

    directory = Path(source)
    if directory.is_dir():
        return minari.MinariDataset(directory / "data" if (directory / "data").is_dir() else directory)
    with _datasets_root(root):
        return minari.load_dataset(str(source), download=False)


def _episode_arrays(ep, obs_key: str, source: str) -> dict[str, np.ndarray]:
    obs = ep.observations
    if isinstance(obs, dict):
        if obs_key not in obs:
            raise DatasetError(f"{source}: dict observations have no key {obs_key!r} (keys: {sorted(obs)})")
        obs = obs[obs_key]
    obs = np.asarray(obs)
    infos = ep.infos or {}
    if "state" in infos:
        states = np.asarray(infos["state"], dtype=np.float32)
    elif obs.ndim == 2 and obs.dtype != np.uint8:
        states = obs.astype(np.float32)
    else:
        raise DatasetError(f"{source}: episode {ep.id} has image observations and no infos['state']")
    if obs.dtype != np.uint8:
        obs = obs.astype(np.float32)
    return {"obs": obs, "states": states.reshape(len(states), -1),
            "actions": np.asarray(ep.actions, dtype=np.float32).reshape(len(ep.actions), -1)}


def import_minari(source: str | Path, out: str | Path, root: str | Path | None = None,
                  obs_key: str = "observation") -> Episodes:
    """Convert Minari dataset ``source`` (an id under ``root``, or a directory) to a dataset file.

    Writes ``out`` (refusing to overwrite) and returns the episodes.
    """
    if Path(out).exists():
        raise FileExistsError(f"{out}: dataset exists (choose another path)")
    dataset = _open(source, root)
    eps = [_episode_arrays(ep, obs_key, str(source)) for ep in dataset.iterate_episodes()]
    if not eps:
        raise DatasetError(f"{source}: Minari dataset has no episodes")
    spec = dataset.spec.env_spec
    space = dataset.action_space
    meta = {"env_id": spec.id if spec is not None else f"minari:{dataset.spec.dataset_id}",
            "obs_type": "pixels" if eps[0]["obs"].dtype == np.uint8 else "state",
            "env_kwargs": dict(spec.kwargs) if spec is not None else {},
            "action_low": np.asarray(space.low, np.float32), "action_high": np.asarray(space.high, np.float32),
            "policy": f"minari:{dataset.spec.dataset_id}", "seed": 0,
            "seed_ranges": np.zeros((0, 2), np.int64),  # the reset seeds of its episodes are unknown
            "code_version": str(dataset.storage.metadata.get("code_permalink") or "unknown")}
    data = concat_episodes(eps, meta)
    write_dataset(out, data)
    return data
