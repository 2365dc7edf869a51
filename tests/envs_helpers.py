"""Shared helpers of the environment tests: how to make every registered id, an agent that never moves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from envs.registration import ENV_SPECS, make_env

ROOT = Path(__file__).resolve().parents[1]


def custom_kwargs() -> dict:
    """``env.kwargs`` of the worked custom-env example, with an absolute entry point."""
    cfg = yaml.safe_load((ROOT / "configs" / "custom_pointreach_state.yaml").read_text())
    kwargs = dict(cfg["env"]["kwargs"])
    kwargs["entry_point"] = str(ROOT / kwargs["entry_point"])
    return kwargs


def env_kwargs(env_id: str) -> dict:
    """Constructor kwargs an id needs (only ``wm/Custom-v0`` needs any)."""
    return custom_kwargs() if env_id == "wm/Custom-v0" else {}


def make(env_id: str, **kw):
    return make_env(env_id, **env_kwargs(env_id), **kw)


IDS = sorted(ENV_SPECS)


class StillAgent:
    """An agent (``seed``, ``reset``, ``act``) whose action is always zero: it stays where it starts."""

    def seed(self, seed: int) -> None:
        pass

    def reset(self, obs, info) -> None:
        pass

    def act(self, obs) -> np.ndarray:
        return np.zeros(2, np.float32)
