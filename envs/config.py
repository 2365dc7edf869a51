"""Configuration of the ``env`` and ``data`` sections (frozen dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from envs.goal_env import OBS_TYPES

POLICIES = ("random_walk", "uniform", "scripted")
GOAL_SOURCES = ("env", "dataset")


@dataclass(frozen=True)
class EnvConfig:
    """Which world, and how it is observed."""

    id: str = "wm/TwoRoom-v0"
    """Registered gymnasium id (``wm/...``, a gymnasium-robotics ``PointMaze_<map>-v3``, or one a module of
    ``imports`` registers)."""
    obs_type: str = "state"
    """``state`` (float32 vector) or ``pixels`` (uint8 image)."""
    image_size: int = 64
    """Side of the square pixel observation."""
    kwargs: dict[str, Any] = field(default_factory=dict)
    """Extra keyword arguments for the environment constructor."""
    imports: tuple[str, ...] = ()
    """User modules imported before the env is made (``pkg.mod`` or ``path/file.py``; the working
    directory is on ``sys.path``): they register their own ids or adapters.  ``wm --import`` adds to it."""
    goal_source: str = "env"
    """The goal observation: ``env`` (the env builds it, e.g. by putting the simulator at the goal) or
    ``dataset`` (the run's recorded observation whose achieved goal is nearest the episode's goal vector:
    for envs that give their goal only in task space)."""

    def __post_init__(self) -> None:
        if self.goal_source not in GOAL_SOURCES:
            raise ValueError(f"goal_source: must be one of {GOAL_SOURCES}, got {self.goal_source!r}")
        if self.obs_type not in OBS_TYPES:
            raise ValueError(f"obs_type: must be one of {OBS_TYPES}, got {self.obs_type!r}")
        if not 8 <= self.image_size <= 512:
            raise ValueError(f"image_size: must be in [8, 512], got {self.image_size}")

    def make_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`envs.registration.make_env` (``imports`` and ``goal_source``
        only when set: ``make_env`` takes them off before the constructor sees them)."""
        extra: dict[str, Any] = {"imports": list(self.imports)} if self.imports else {}
        if self.goal_source != "env":
            extra["goal_source"] = self.goal_source
        return {"obs_type": self.obs_type, "image_size": self.image_size, **self.kwargs, **extra}


@dataclass(frozen=True)
class DataConfig:
    """Reward-free exploration data."""

    episodes: int = 300
    """Number of exploration episodes to record."""
    episode_steps: int = 100
    """Steps per exploration episode."""
    policy: str = "random_walk"
    """Exploration policy: ``random_walk`` (temporally correlated), ``uniform``, or ``scripted``
    (the env's own scripted explorer: Push-T's pusher that goes round the block and pushes it)."""
    smoothing: float = 0.9
    """Random-walk correlation: ``a_t = s * a_{t-1} + sqrt(1 - s^2) * noise``."""
    noise: float = 0.3
    """Std of the Gaussian noise the ``scripted`` explorer adds to its actions."""
    workers: int = 1
    """Collection processes."""
    seed: int = 0
    """Seed of the first episode (episode ``i`` uses ``seed + i``)."""
    path: str = ""
    """Use this existing dataset instead of collecting (empty: collect into the run dir)."""

    def __post_init__(self) -> None:
        if self.episodes < 1:
            raise ValueError(f"episodes: must be >= 1, got {self.episodes}")
        if self.episode_steps < 2:
            raise ValueError(f"episode_steps: must be >= 2, got {self.episode_steps}")
        if self.policy not in POLICIES:
            raise ValueError(f"policy: must be one of {POLICIES}, got {self.policy!r}")
        if self.noise < 0:
            raise ValueError(f"noise: must be >= 0, got {self.noise}")
        if not 0.0 <= self.smoothing < 1.0:
            raise ValueError(f"smoothing: must be in [0, 1), got {self.smoothing}")
        if self.workers < 1:
            raise ValueError(f"workers: must be >= 1, got {self.workers}")
