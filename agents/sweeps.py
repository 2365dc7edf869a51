"""Planner sweeps: success vs planning budget, success vs horizon, plan time vs samples.

Each sweep takes ``make_agent(plan: PlanConfig) -> agent`` (so it works for the latent MPC
and the oracle alike) and a base :class:`PlanConfig`, varies some of its fields with
:func:`dataclasses.replace`, and returns one flat record per point, ready for
:mod:`agents.plots` and for JSON.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from agents.config import PlanConfig
from agents.parallel import evaluate_sharded
from agents.protocol import AgentLike, as_agent
from agents.stats import percentile
from envs.registration import make_env

MakeAgent = Callable[[PlanConfig], AgentLike]


def budget_plan(base: PlanConfig, samples: int, iterations: int) -> PlanConfig:
    """``base`` with ``samples x iterations`` and 10 % elites (at least 2, at most ``samples``)."""
    return dataclasses.replace(base, samples=samples, iterations=iterations,
                               elites=min(samples, max(2, samples // 10)))


def success_sweep(make_agent: MakeAgent, plans: Sequence[PlanConfig], env_id: str, episodes: int, seed: int,
                  env_kwargs: dict | None = None, max_steps: int = 0, workers: int = 1,
                  pool: ProcessPoolExecutor | None = None, progress: bool = False) -> list[dict[str, Any]]:
    """Evaluate one agent per plan; a record of the plan's fields and the summary for each.

    ``workers > 1`` splits each evaluation across processes (of ``pool`` when given, so that
    the processes start once for the whole sweep).
    """
    rows = []
    for plan in plans:
        result = evaluate_sharded(make_agent(plan), episodes, workers, progress, pool, env_id=env_id, seed=seed,
                                  env_kwargs=env_kwargs, max_steps=max_steps, name=plan.planner)
        s = result.summary()
        rows.append({**dataclasses.asdict(plan), "budget": plan.budget,
                     **{k: s[k] for k in ("success_rate", "success_ci95", "final_distance_mean",
                                          "plan_ms_median", "act_ms_per_step", "steps_mean", "episodes")}})
    return rows


def plan_times(make_agent: MakeAgent, plans: Sequence[PlanConfig], env_id: str, starts: int, seed: int,
               env_kwargs: dict | None = None) -> list[dict[str, Any]]:
    """Median and p95 ms of one plan from ``starts`` episode starts, per plan config (after one warm-up)."""
    rows = []
    env = make_env(env_id, **(env_kwargs or {}))
    for plan in plans:
        agent = make_agent(plan)
        agent = as_agent(agent)
        agent.attach(env)
        times = []
        for i in range(starts + 1):
            obs, info = env.reset(seed=seed + i)
            agent.seed(seed + i)
            agent.reset(obs, info)
            agent.act(obs)
            if i > 0:  # the first plan pays one-off costs (allocations, lazy imports)
                times.append(agent.last_plan_ms)
        rows.append({**dataclasses.asdict(plan), "budget": plan.budget,
                     "plan_ms_median": percentile(times, 50), "plan_ms_p95": percentile(times, 95),
                     "plan_ms_mean": float(np.mean(times))})
    env.close()
    return rows
