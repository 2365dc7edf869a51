"""Configuration of the ``plan`` and ``eval`` sections (frozen dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field

PLANNERS = ("cem",)
AGENTS = ("mpc", "oracle", "random")
DISTANCES = ("l2", "cosine")


@dataclass(frozen=True)
class PlanConfig:
    """Planner, budget and cost of the MPC agents (latent and oracle alike)."""

    planner: str = "cem"
    """Planner: ``cem``."""
    horizon: int = 10
    """Planning horizon in model steps (each ``model.frameskip`` env steps)."""
    samples: int = 300
    """Candidate action sequences per iteration."""
    iterations: int = 10
    """Refinement iterations per plan."""
    elites: int = 30
    """Candidates kept to refit the sampling distribution."""
    init_std: float = 1.0
    """Initial std as a fraction of the half action range."""
    min_std: float = 0.05
    """Lower bound of the std (fraction of the half range)."""
    warm_start: bool = True
    """Start from the previous plan shifted by one step."""
    distance: str = "l2"
    """Latent distance: ``l2`` (squared) or ``cosine``."""
    running_weight: float = 1.0
    """Weight of the mean distance over the horizon, added to the terminal distance."""
    replan_every: int = 0
    """Env steps between replans (0: one model step, ``model.frameskip``)."""

    def __post_init__(self) -> None:
        if self.planner not in PLANNERS:
            raise ValueError(f"planner: must be one of {PLANNERS}, got {self.planner!r}")
        if self.distance not in DISTANCES:
            raise ValueError(f"distance: must be one of {DISTANCES}, got {self.distance!r}")
        for name in ("horizon", "samples", "iterations", "elites"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be >= 1, got {getattr(self, name)}")
        if self.elites > self.samples:
            raise ValueError(f"elites: must be <= samples ({self.samples}), got {self.elites}")
        if not 0 < self.min_std <= self.init_std:
            raise ValueError(f"min_std: must be in (0, init_std], got {self.min_std}")
        if self.running_weight < 0 or self.replan_every < 0:
            raise ValueError("running_weight and replan_every must be >= 0")


@dataclass(frozen=True)
class EvalConfig:
    """Which agents are evaluated, on how many episodes."""

    agents: tuple[str, ...] = ("mpc", "oracle", "random")
    """Agents to evaluate, from ``mpc``, ``oracle``, ``random``."""
    episodes: int = 50
    """Episodes per agent (episode ``i`` resets with ``seed + i``)."""
    seed: int = 100_000
    """Seed of the first evaluation episode (disjoint from the data seeds)."""
    max_steps: int = 0
    """Step limit per episode (0: the env's registered limit)."""
    device: str = "cpu"
    """Torch device of the latent agent."""
    env_kwargs: dict = field(default_factory=dict)
    """Extra env constructor kwargs at evaluation only (e.g. ``same_room`` is a reset option)."""

    def __post_init__(self) -> None:
        bad = [a for a in self.agents if a not in AGENTS]
        if bad or not self.agents:
            raise ValueError(f"agents: each must be one of {AGENTS}, got {list(self.agents)}")
        if self.episodes < 1:
            raise ValueError(f"episodes: must be >= 1, got {self.episodes}")
        if self.max_steps < 0:
            raise ValueError(f"max_steps: must be >= 0, got {self.max_steps}")
