"""Every configs/*.yaml names a working env: its env and data sections load and one short
episode is collected in the configured observation type (tests/test_config.py loads them whole)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from envs.collect import collect
from envs.config import DataConfig, EnvConfig
from tests.envs_helpers import ROOT
from wm.config import build_section, read_config_file

CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))

pytestmark = pytest.mark.filterwarnings("ignore:.*Box observation space (minimum|maximum) value is:UserWarning")


def _sections(path: Path) -> tuple[EnvConfig, DataConfig]:
    raw = read_config_file(path)  # base: chains resolved
    env = build_section(EnvConfig, raw.get("env"), "env")
    if "entry_point" in env.kwargs:  # relative to the repository root
        env = EnvConfig(**{**env.__dict__, "kwargs": {**env.kwargs,
                                                      "entry_point": str(ROOT / env.kwargs["entry_point"])}})
    return env, build_section(DataConfig, raw.get("data"), "data")


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_config_env_collects(path):
    env, data = _sections(path)
    assert env.obs_type in path.stem.split("_")  # configs/<env>_<obs>[_<variant>].yaml
    eps = collect(env, DataConfig(**{**data.__dict__, "episodes": 1, "episode_steps": 3, "workers": 1}), None,
                  progress=False)
    assert eps.num_steps == 3 and np.isfinite(eps.states).all()
    assert eps.obs.dtype == (np.uint8 if env.obs_type == "pixels" else np.float32)
