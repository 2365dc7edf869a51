"""Configuration of the ``plan`` and ``eval`` sections (frozen dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field

from envs.offset import GOAL_VELOCITIES
from worldmodel.config import PRECISIONS

PLANNERS = ("cem", "icem", "mppi", "gd", "cem_gd")
AGENTS = ("mpc", "oracle", "oracle-goal", "sim-latent", "random", "gcbc")
PROTOCOLS = ("task", "offset")
DISTANCES = ("l2", "cosine")


@dataclass(frozen=True)
class PlanConfig:
    """Planner, budget and cost of the MPC agents (latent and oracle alike)."""

    planner: str = "cem"
    """Planner: ``cem``, ``icem``, ``mppi``, ``gd`` (Adam through the cost) or ``cem_gd`` (CEM, then GD)."""
    horizon: int = 10
    """Planning horizon in model steps (each ``model.frameskip`` env steps)."""
    samples: int = 300
    """Candidate action sequences per iteration (``gd``: sequences optimised in parallel)."""
    iterations: int = 10
    """Iterations per plan (``gd``: Adam steps); the budget is ``samples x iterations`` evaluations."""
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
    terminal_steps: int = 1
    """Last predicted steps averaged in the terminal cost (1: the final one; more: be and stay at the goal)."""
    replan_every: int = 0
    """Env steps between replans (0: one model step, ``model.frameskip``)."""
    noise_beta: float = 2.0
    """``icem``: colour exponent of the sampling noise, PSD ~ 1/f^beta (0: white)."""
    keep_elites: float = 0.3
    """``icem``: fraction of the elites carried into the next iteration."""
    momentum: float = 0.1
    """``icem``: weight of the old mean and std in each refit."""
    temperature: float = 0.1
    """``mppi``: temperature, relative to the spread ``median(c) - min(c)`` of each iteration's costs."""
    lr: float = 0.1
    """``gd``, ``cem_gd``: Adam step size, as a fraction of the half action range."""
    refine_steps: int = 10
    """``cem_gd``: gradient steps on the CEM mean (single-sequence evaluations)."""
    fd_eps: float = 0.02
    """Oracle with ``gd`` / ``cem_gd``: central finite-difference step (fraction of the half range)."""
    stop_tol: float = 0.0
    """``cem``, ``icem``, ``mppi``, ``cem_gd``: end a plan's iterations early once one moves the sampling mean
    by less than this fraction of the half action range in every coordinate (0: never, all ``iterations``
    run; ``gd``: ignored). The budget ``samples x iterations`` becomes an upper bound."""
    precision: str = "fp32"
    """Latent rollout arithmetic while planning: ``fp32``, or ``bf16`` (matmuls in bfloat16, ~2x faster on
    AVX512-BF16 CPUs; ``mlp`` predictor only)."""

    def __post_init__(self) -> None:
        if self.planner not in PLANNERS:
            raise ValueError(f"planner: must be one of {PLANNERS}, got {self.planner!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision: must be one of {PRECISIONS}, got {self.precision!r}")
        if self.distance not in DISTANCES:
            raise ValueError(f"distance: must be one of {DISTANCES}, got {self.distance!r}")
        for name in ("horizon", "samples", "iterations", "elites", "terminal_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be >= 1, got {getattr(self, name)}")
        if self.elites > self.samples:
            raise ValueError(f"elites: must be <= samples ({self.samples}), got {self.elites}")
        if not 0 < self.min_std <= self.init_std:
            raise ValueError(f"min_std: must be in (0, init_std], got {self.min_std}")
        for name in ("running_weight", "replan_every", "noise_beta"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: must be >= 0, got {getattr(self, name)}")
        if self.refine_steps < 1:
            raise ValueError(f"refine_steps: must be >= 1, got {self.refine_steps}")
        for name in ("keep_elites", "momentum"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name}: must be in [0, 1), got {getattr(self, name)}")
        if not 0 <= self.stop_tol < 1:
            raise ValueError(f"stop_tol: must be in [0, 1), got {self.stop_tol}")
        for name in ("temperature", "lr", "fd_eps"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: must be > 0, got {getattr(self, name)}")

    @property
    def budget(self) -> int:
        """Cost evaluations (of one action sequence) per plan: ``samples x iterations`` (+ ``refine_steps``);
        at most that with ``stop_tol > 0``."""
        return self.samples * self.iterations + (self.refine_steps if self.planner == "cem_gd" else 0)


@dataclass(frozen=True)
class EvalConfig:
    """Which agents are evaluated, on how many episodes."""

    agents: tuple[str, ...] = ("mpc", "oracle", "random")
    """Agents to evaluate, from ``mpc``, ``oracle``, ``oracle-goal``, ``sim-latent`` (the control ladder, see
    ``agents/ladder.py``), ``random``, ``gcbc`` (goal-conditioned behaviour cloning)."""
    protocols: tuple[str, ...] = ("task",)
    """Evaluation protocols: ``task`` (the env samples start and goal; results in ``eval/<label>/``) and/or
    ``offset`` (the peers': start on a held-out trajectory of the data policy, goal = the state ``offset``
    steps later, ``offset_budget`` steps, the peers' success rule; results in ``eval/offset/<label>/``)."""
    offset_agents: tuple[str, ...] = ("mpc", "oracle-goal", "random")
    """Agents evaluated under the ``offset`` protocol (from the same list as ``agents``)."""
    offset: int = 25
    """``offset`` protocol: env steps from the start state to the goal state along the trajectory."""
    offset_budget: int = 50
    """``offset`` protocol: step budget per episode."""
    offset_goal_velocity: str = "keep"
    """``offset`` protocol: ``keep`` the goal state's velocities, or ``zero`` them (the goal a single
    frame shows: pixel goals are the same either way; state goals lose the velocity the success
    rule ignores)."""
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
    workers: int = 1
    """Local processes the episodes are split across (results identical to 1); under torchrun, the ranks."""
    plan_threads: int = 0
    """Threads each latent plan scores its candidates on, one slice of the population per thread with one
    torch thread each (``agents/population.py``; costs identical to 1). 0: the process's torch thread
    count (``wm``: the free cores; a worker of ``workers``: its share); 1: no split."""
    videos: int = 0
    """Render the first ``videos`` episodes of each agent to ``eval/<name>/videos/*.mp4``."""
    gcbc_steps: int = 3000
    """``gcbc``: gradient steps of behaviour cloning on the run's dataset."""
    gcbc_batch_size: int = 256
    """``gcbc``: (observation, relabelled goal, action) triples per step."""
    gcbc_lr: float = 1e-3
    """``gcbc``: Adam learning rate."""
    gcbc_hidden: int = 256
    """``gcbc``: width of the policy MLP."""
    gcbc_seed: int = 0
    """``gcbc``: seed of initialisation and sampling."""

    def __post_init__(self) -> None:
        for name in ("agents", "offset_agents"):
            agents = getattr(self, name)
            if not agents or any(a not in AGENTS for a in agents):
                raise ValueError(f"{name}: each must be one of {AGENTS}, got {list(agents)}")
        if not self.protocols or any(p not in PROTOCOLS for p in self.protocols):
            raise ValueError(f"protocols: each must be one of {PROTOCOLS}, got {list(self.protocols)}")
        if self.offset_goal_velocity not in GOAL_VELOCITIES:
            raise ValueError(f"offset_goal_velocity: must be one of {GOAL_VELOCITIES}, "
                             f"got {self.offset_goal_velocity!r}")
        for name in ("offset", "offset_budget"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be >= 1, got {getattr(self, name)}")
        if self.episodes < 1:
            raise ValueError(f"episodes: must be >= 1, got {self.episodes}")
        if self.max_steps < 0:
            raise ValueError(f"max_steps: must be >= 0, got {self.max_steps}")
        for name in ("workers", "gcbc_steps", "gcbc_batch_size", "gcbc_hidden"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be >= 1, got {getattr(self, name)}")
        for name in ("videos", "plan_threads"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: must be >= 0, got {getattr(self, name)}")
        if not self.gcbc_lr > 0:
            raise ValueError(f"gcbc_lr: must be > 0, got {self.gcbc_lr}")

    def agents_for(self, protocol: str) -> tuple[str, ...]:
        """The agents evaluated under ``protocol``: ``agents`` (task) or ``offset_agents``."""
        return self.offset_agents if protocol == "offset" else self.agents

    def all_agents(self) -> tuple[str, ...]:
        """Every agent some configured protocol evaluates."""
        return tuple(dict.fromkeys(a for p in self.protocols for a in self.agents_for(p)))
