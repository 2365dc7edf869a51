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
