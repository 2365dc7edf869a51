"""Shared fixtures: small seeded datasets and configs (nothing is downloaded)."""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")  # headless rendering for pixel tests

import pytest
import torch

from envs.collect import collect
from envs.config import DataConfig, EnvConfig

torch.set_num_threads(1)

TINY = [
    "data.episodes=12", "data.episode_steps=40", "train.steps=20", "train.batch_size=32",
    "train.eval_every=10", "train.log_every=5", "model.hidden_dim=32", "plan.samples=16",
    "plan.iterations=2", "plan.elites=4", "plan.horizon=3", "eval.episodes=2", "eval.max_steps=15",
]
"""``--set`` overrides that make every verb finish in seconds."""


@pytest.fixture(scope="session")
def tiny_data():
    """12 random-walk episodes of 40 steps on TwoRoom (state)."""
    return collect(EnvConfig(), DataConfig(episodes=12, episode_steps=40), None, progress=False)


@pytest.fixture(scope="session")
def tiny_overrides() -> list[str]:
    return list(TINY)


def paint_disc_frames(states, size: int = 32):
    """Synthetic pixel observations ``(N, size, size, 3)`` uint8: a red disc at each state's ``(x, y)``
    on a grey arena split by a dark wall at ``x = 0`` (fast stand-in for MuJoCo renders)."""
    import numpy as np

    coords = (np.arange(size) + 0.5) / size * 2 - 1
    yy, xx = np.meshgrid(-coords, coords, indexing="ij")
    base = np.full((size, size, 3), 230, dtype=np.uint8)
    base[np.abs(xx) < 2.5 / size] = 50
    frames = np.repeat(base[None], len(states), axis=0)
    disc = (xx[None] - states[:, 0, None, None]) ** 2 + (yy[None] - states[:, 1, None, None]) ** 2 < 0.12 ** 2
    frames[disc] = (220, 30, 30)
    return frames


@pytest.fixture(scope="session")
def tiny_pixel_data(tiny_data):
    """``tiny_data`` with 32x32 synthetic images as observations (same states and actions)."""
    from dataclasses import replace

    return replace(tiny_data, obs=paint_disc_frames(tiny_data.states), meta={**tiny_data.meta, "obs_type": "pixels"})
