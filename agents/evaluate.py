"""Evaluation of any policy on a goal-conditioned env: ``evaluate(agent, env, episodes, ...)``.

``agent`` is an :class:`agents.protocol.Agent` (``reset(obs, info)``, ``act(obs) -> action``,
and the hooks ``seed``, ``attach``, ``last_plan_ms``, ``imagined_latents``, which
:class:`agents.protocol.BaseAgent` provides as no-ops), any object with ``reset`` and ``act``,
or a plain callable ``policy(obs, goal) -> action`` or ``policy(obs) -> action``.  ``env`` is a
registered env id or an env instance; its ``reset`` info must carry ``goal``, ``success`` and
``distance`` (the contract of :mod:`envs.goal_env`).  Every action is checked against the env's
action space before it is stepped, so a policy that returns None or a wrong shape fails naming
itself.  Episode ``i`` resets with ``seed + i``, so any subset of episodes (a shard) gives
exactly the records the full run gives for it.  With ``protocol`` (an
:class:`envs.offset.OffsetProtocol`) each episode instead starts on a held-out trajectory of
the data policy and its goal is the state ``protocol.offset`` steps later (the peers' protocol).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from tqdm import tqdm

from agents.protocol import AgentLike, BaseAgent, as_agent, describe
from agents.report import results_table
from agents.stats import percentile, wilson_interval
from agents.video import EpisodeRecorder, VideoOptions
from envs.offset import OffsetProtocol
from envs.registration import make_env


def strict_json(value: Any) -> Any:
    """``value`` as strict-JSON data: NaN / inf become None (``null``), numpy scalars and arrays Python values."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    return value


def mean_or_none(values: Sequence[float]) -> float | None:
    """The mean of ``values``, or None when there are none."""
    return float(np.mean(values)) if len(values) else None


@dataclass
class EpisodeResult:
    seed: int
    success: bool
    final_distance: float
    steps: int
    plan_ms: list[float] = field(default_factory=list)
    act_ms_total: float = 0.0
    index: int = 0
    """Position of the episode in the evaluation (its seed is ``seed + index``)."""
    plan_iterations: list[int] = field(default_factory=list)
    """Planner iterations each plan ran (fewer than ``plan.iterations`` when ``plan.stop_tol`` stopped it)."""


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
                "steps_mean": steps / n, "wall_s": self.wall_s,
                "plan_iterations_mean": mean_or_none([i for e in self.episodes for i in e.plan_iterations])}

    @staticmethod
    def _episode_record(e: EpisodeResult) -> dict[str, Any]:
        record = asdict(e)
        plans = record.pop("plan_ms")
        record["plans"] = len(plans)
        record["plan_ms_mean"] = float(np.mean(plans)) if plans else None
        record["plan_iterations_mean"] = mean_or_none(record.pop("plan_iterations"))
        return record

    def write(self, path: str | Path) -> None:
        """Write the summary plus per-episode records as strict JSON, atomically: a value that is NaN or
        infinite (``plan_ms_median`` of an agent that never plans, a diverged distance) is written
        ``null``, so any JSON parser reads the file."""
        from worldmodel.checkpoint import atomic_write

        body = {**self.summary(), "per_episode": [self._episode_record(e) for e in self.episodes]}
        text = json.dumps(strict_json(body), indent=2, allow_nan=False, default=str)
        atomic_write(Path(path), text.encode())

    def write_dir(self, out_dir: str | Path) -> None:
        """``out_dir/results.json`` and ``out_dir/results.md`` (a one-row table)."""
        self.write(Path(out_dir) / "results.json")
        (Path(out_dir) / "results.md").write_text(results_table([self.summary()]) + "\n")

    @classmethod
    def merge(cls, parts: Sequence[EvalResult]) -> EvalResult:
        """One result from shards of the same evaluation; episodes in index order, wall time the longest."""
        first = parts[0]
        episodes = sorted((e for p in parts for e in p.episodes), key=lambda e: e.index)
        if len({e.index for e in episodes}) != len(episodes):
            raise ValueError("merge: shards overlap (an episode index appears twice)")
        return cls(first.env_id, first.agent, episodes, first.seed, max(p.wall_s for p in parts), first.meta)


GOAL_KEYS = ("goal", "success", "distance")


def check_goal_info(env: gym.Env, info: dict, where: str) -> None:
    """A ValueError naming the env when its ``reset``/``step`` info lacks ``goal``, ``success`` or ``distance``."""
    missing = [k for k in (GOAL_KEYS if where == "reset" else GOAL_KEYS[1:]) if k not in info]
    if missing:
        raise ValueError(f"{env_name(env)} is not a goal-conditioned env: its {where}() info has no "
                         f"{', '.join(repr(k) for k in missing)} (the evaluator needs info['goal'], the goal "
                         "observation, and info['success'], info['distance']; see envs/goal_env.py, or "
                         "wm/Custom-v0 for your own MuJoCo env)")


def check_action(action: Any, space: gym.Space, agent: BaseAgent) -> np.ndarray:
    """``action`` as an array of the action space's shape, finite; else a ValueError naming the agent."""
    shape = getattr(space, "shape", None)
    if action is None:
        raise ValueError(f"{describe(agent)} returned None instead of an action of shape {shape} "
                         "(does it return one? a body of `...` or `pass` returns None)")
    if not isinstance(action, np.ndarray):
        action = np.asarray(action.detach().cpu() if hasattr(action, "detach") else action, dtype=np.float32)
    if shape is not None and action.shape != shape:
        raise ValueError(f"{describe(agent)} returned an action of shape {action.shape}; "
                         f"the env's action space is {space} (shape {shape})")
    if action.dtype.kind in "fc" and not np.isfinite(action).all():
        raise ValueError(f"{describe(agent)} returned a non-finite action {action}")
    return action


def env_name(env: gym.Env) -> str:
    """The env's registered id, else its class name."""
    spec = getattr(env, "spec", None)
    return spec.id if spec is not None else type(env.unwrapped).__name__


def run_episode(env: gym.Env, agent: AgentLike, seed: int, index: int = 0, recorder: EpisodeRecorder | None = None,
                protocol: OffsetProtocol | None = None) -> EpisodeResult:
    """One episode from ``env.reset(seed=seed)`` (or the ``protocol``'s start and goal for that
    seed); success if any step reports it.  ``agent``: anything :func:`agents.protocol.as_agent` takes."""
    agent = as_agent(agent)
    agent.seed(seed)
    options = protocol.reset_options(env, seed) if protocol is not None else None
    obs, info = env.reset(seed=seed, options=options)
    check_goal_info(env, info, "reset")
    agent.reset(obs, info)
    result = EpisodeResult(seed, bool(info["success"]), float(info["distance"]), 0, index=index)
    if recorder is not None:
        recorder.start(env, info, agent)
    done = False
    while not done:
        t0 = time.perf_counter()
        action = agent.act(obs)
        result.act_ms_total += 1000 * (time.perf_counter() - t0)
        action = check_action(action, env.action_space, agent)
        if agent.last_plan_ms is not None:
            result.plan_ms.append(agent.last_plan_ms)
        if agent.last_plan_iterations is not None:
            result.plan_iterations.append(agent.last_plan_iterations)
        if recorder is not None:
            recorder.capture(env, agent)  # the state the action was chosen in, and the plan
        obs, _, terminated, truncated, info = env.step(action)
        check_goal_info(env, info, "step")
        result.steps += 1
        result.success |= bool(info["success"])
        result.final_distance = float(info["distance"])
        done = terminated or truncated
    if recorder is not None:
        recorder.capture(env, None)
    return result


def evaluate(agent: AgentLike, env_id: str | gym.Env, episodes: int, seed: int = 0, env_kwargs: dict | None = None,
             max_steps: int = 0, name: str = "agent", progress: bool = True, meta: dict | None = None,
             indices: Sequence[int] | None = None, video: VideoOptions | None = None,
             workers: int = 1, out_dir: str | Path | None = None,
             protocol: OffsetProtocol | None = None) -> EvalResult:
    """Run ``episodes`` episodes of ``agent`` on ``env_id`` (an id, or an env instance); deterministic for a ``seed``.

    ``indices`` restricts the run to those episode indices (a shard); ``workers > 1`` splits
    them across that many spawned processes (``agent`` must then pickle, and the env be an id) and
    merges the records, which are identical to a one-process run.  ``video`` renders chosen
    episodes to mp4; ``out_dir`` receives ``results.json`` and ``results.md``.  ``protocol``
    switches to the ``offset`` protocol (its settings are recorded in the results).  An env
    instance is used as it is (not closed): ``env_kwargs`` then cannot apply, ``max_steps`` wraps
    it in a ``TimeLimit`` and videos need it made with ``render_mode="rgb_array"``.
    """
    agent = as_agent(agent)
    if protocol is not None:
        meta = {**(meta or {}), **protocol.record()}
    indices = list(range(episodes)) if indices is None else sorted(set(indices))
    if indices and not 0 <= indices[0] <= indices[-1] < episodes:
        raise ValueError(f"indices: must lie in [0, {episodes}), got {indices[0]}..{indices[-1]}")
    if workers > 1:
        from agents.parallel import evaluate_in_workers

        if not isinstance(env_id, str):
            raise ValueError("workers > 1: pass the env id (each worker makes its own env), not an env instance")
        result = evaluate_in_workers(agent, workers, env_id=env_id, episodes=episodes, seed=seed,
                                     env_kwargs=env_kwargs, max_steps=max_steps, name=name, meta=meta,
                                     indices=indices, video=video, protocol=protocol)
    else:
        result = _evaluate_here(agent, env_id, seed, env_kwargs, max_steps, name, progress, meta, indices, video,
                                protocol)
    if out_dir is not None:
        result.write_dir(out_dir)
    return result


def open_env(env: str | gym.Env, env_kwargs: dict | None, max_steps: int, render: bool) -> tuple[gym.Env, bool]:
    """The env to evaluate on and whether the evaluator owns it (made from an id: closed after)."""
    if isinstance(env, str):
        kwargs = dict(env_kwargs or {})
        if max_steps:
            kwargs["max_episode_steps"] = max_steps
        if render:
            kwargs["render_mode"] = "rgb_array"  # rendering does not change the dynamics
        return make_env(env, **kwargs), True
    if not isinstance(env, gym.Env):
        raise TypeError(f"env: expected a gymnasium env id or env instance, got {type(env).__name__}")
    if env_kwargs:
        raise ValueError(f"env_kwargs {sorted(env_kwargs)}: they configure a new env; pass the env id, or make "
                         "the instance with them")
    if render and env.render_mode != "rgb_array":
        raise ValueError("videos: the env instance must be made with render_mode='rgb_array' "
                         f"(has {env.render_mode!r})")
    return (gym.wrappers.TimeLimit(env, max_steps) if max_steps else env), False


def _evaluate_here(agent: BaseAgent, env_id: str | gym.Env, seed: int, env_kwargs: dict | None, max_steps: int,
                   name: str, progress: bool, meta: dict | None, indices: list[int], video: VideoOptions | None,
                   protocol: OffsetProtocol | None = None) -> EvalResult:
    env, owned = open_env(env_id, env_kwargs, max_steps, video is not None and bool(video.episodes))
    agent.attach(env)
    start = time.perf_counter()
    results = []
    for i in tqdm(indices, desc=f"eval {name}", unit="ep", disable=not progress):
        recorder = video.recorder(i) if video is not None else None
        results.append(run_episode(env, agent, seed + i, i, recorder, protocol))
        if recorder is not None:
            recorder.write()
    if owned:
        env.close()
    label = env_id if isinstance(env_id, str) else env_name(env)
    return EvalResult(label, name, results, seed, time.perf_counter() - start, dict(meta or {}))
