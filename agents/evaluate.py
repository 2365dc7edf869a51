"""Evaluation of any policy on a goal-conditioned env: ``evaluate(agent, env_id, ...)``.

``agent`` is any object with ``reset(obs, info)`` and ``act(obs) -> action``, or a plain
callable ``policy(obs, goal) -> action``.  Optional hooks: ``seed(s)`` (called with each
episode's seed, so results do not depend on episode order), ``attach(env)`` (for agents
that need the simulator, like the oracle) and ``last_plan_ms`` (the time of the plan the
last ``act`` made, or None).  Episode ``i`` resets with ``seed + i``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from agents.stats import percentile, wilson_interval
from envs.registration import make_env


@dataclass
class EpisodeResult:
    seed: int
    success: bool
    final_distance: float
    steps: int
    plan_ms: list[float] = field(default_factory=list)
    act_ms_total: float = 0.0


@dataclass
class EvalResult:
    """Aggregate and per-episode results; :meth:`summary` is the ``results.json`` schema."""

    env_id: str
    agent: str
    episodes: list[EpisodeResult]
    seed: int
    wall_s: float
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def success_rate(self) -> float:
        return float(np.mean([e.success for e in self.episodes]))

    def summary(self) -> dict[str, Any]:
        n, wins = len(self.episodes), sum(e.success for e in self.episodes)
        plans = [ms for e in self.episodes for ms in e.plan_ms]
        steps = sum(e.steps for e in self.episodes)
        return {"env_id": self.env_id, "agent": self.agent, **self.meta, "episodes": n, "seed": self.seed,
                "success_rate": wins / n, "success_ci95": list(wilson_interval(wins, n)),
                "final_distance_mean": float(np.mean([e.final_distance for e in self.episodes])),
                "plan_ms_median": percentile(plans, 50), "plan_ms_p95": percentile(plans, 95),
                "act_ms_per_step": sum(e.act_ms_total for e in self.episodes) / max(steps, 1),
                "steps_mean": steps / n, "wall_s": self.wall_s}

    @staticmethod
    def _episode_record(e: EpisodeResult) -> dict[str, Any]:
        record = asdict(e)
        plans = record.pop("plan_ms")
        record["plans"] = len(plans)
        record["plan_ms_mean"] = float(np.mean(plans)) if plans else None
        return record

    def write(self, path: str | Path) -> None:
        """Write the summary plus per-episode records as JSON."""
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        body = {**self.summary(), "per_episode": [self._episode_record(e) for e in self.episodes]}
        Path(path).write_text(json.dumps(body, indent=2, default=float))


class _CallableAgent:
    def __init__(self, policy: Callable[[np.ndarray, np.ndarray], np.ndarray]):
        self.policy, self.goal, self.last_plan_ms = policy, None, None

    def reset(self, obs: np.ndarray, info: dict) -> None:
        self.goal = info["goal"]

    def act(self, obs: np.ndarray) -> np.ndarray:
        return self.policy(obs, self.goal)


def run_episode(env, agent, seed: int) -> EpisodeResult:
    """One episode from ``env.reset(seed=seed)``; success if any step reports it."""
    if hasattr(agent, "seed"):
        agent.seed(seed)
    obs, info = env.reset(seed=seed)
    agent.reset(obs, info)
    result = EpisodeResult(seed, bool(info["success"]), float(info["distance"]), 0)
    done = False
    while not done:
        t0 = time.perf_counter()
        action = agent.act(obs)
        result.act_ms_total += 1000 * (time.perf_counter() - t0)
        if getattr(agent, "last_plan_ms", None) is not None:
            result.plan_ms.append(agent.last_plan_ms)
        obs, _, terminated, truncated, info = env.step(action)
        result.steps += 1
        result.success |= bool(info["success"])
        result.final_distance = float(info["distance"])
        done = terminated or truncated
    return result


def evaluate(agent: Any, env_id: str, episodes: int, seed: int = 0, env_kwargs: dict | None = None,
             max_steps: int = 0, name: str = "agent", progress: bool = True,
             meta: dict | None = None) -> EvalResult:
    """Run ``episodes`` episodes of ``agent`` on ``env_id``; deterministic for a ``seed``."""
    if callable(agent) and not hasattr(agent, "act"):
        agent = _CallableAgent(agent)
    kwargs = dict(env_kwargs or {})
    if max_steps:
        kwargs["max_episode_steps"] = max_steps
    env = make_env(env_id, **kwargs)
    if hasattr(agent, "attach"):
        agent.attach(env)
    start = time.perf_counter()
    results = []
    for i in tqdm(range(episodes), desc=f"eval {name}", unit="ep", disable=not progress):
        results.append(run_episode(env, agent, seed + i))
    env.close()
    return EvalResult(env_id, name, results, seed, time.perf_counter() - start, dict(meta or {}))
