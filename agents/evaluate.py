"""Evaluation of any policy on a goal-conditioned env: ``evaluate(agent, env_id, ...)``.

``agent`` is any object with ``reset(obs, info)`` and ``act(obs) -> action``, or a plain
callable ``policy(obs, goal) -> action``.  Optional hooks: ``seed(s)`` (called with each
episode's seed, so results do not depend on episode order), ``attach(env)`` (for agents
that need the simulator, like the oracle), ``last_plan_ms`` (the time of the plan the
last ``act`` made, or None) and ``imagined_latents()`` (for videos, see
:mod:`agents.video`).  Episode ``i`` resets with ``seed + i``, so any subset of episodes
(a shard) gives exactly the records the full run gives for it.  With ``protocol`` (an
:class:`envs.offset.OffsetProtocol`) each episode instead starts on a held-out trajectory of
the data policy and its goal is the state ``protocol.offset`` steps later (the peers' protocol).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from agents.report import results_table
from agents.stats import percentile, wilson_interval
from agents.video import EpisodeRecorder, VideoOptions
from envs.offset import OffsetProtocol
from envs.registration import make_env


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


class _CallableAgent:
    def __init__(self, policy: Callable[[np.ndarray, np.ndarray], np.ndarray]):
        self.policy, self.goal, self.last_plan_ms = policy, None, None

    def reset(self, obs: np.ndarray, info: dict) -> None:
        self.goal = info["goal"]

    def act(self, obs: np.ndarray) -> np.ndarray:
        return self.policy(obs, self.goal)


def run_episode(env, agent, seed: int, index: int = 0, recorder: EpisodeRecorder | None = None,
                protocol: OffsetProtocol | None = None) -> EpisodeResult:
    """One episode from ``env.reset(seed=seed)`` (or the ``protocol``'s start and goal for that
    seed); success if any step reports it."""
    if hasattr(agent, "seed"):
        agent.seed(seed)
    options = protocol.reset_options(env, seed) if protocol is not None else None
    obs, info = env.reset(seed=seed, options=options)
    agent.reset(obs, info)
    result = EpisodeResult(seed, bool(info["success"]), float(info["distance"]), 0, index=index)
    if recorder is not None:
        recorder.start(env, info, agent)
    done = False
    while not done:
        t0 = time.perf_counter()
        action = agent.act(obs)
        result.act_ms_total += 1000 * (time.perf_counter() - t0)
        if getattr(agent, "last_plan_ms", None) is not None:
            result.plan_ms.append(agent.last_plan_ms)
        if recorder is not None:
            recorder.capture(env, agent)  # the state the action was chosen in, and the plan
        obs, _, terminated, truncated, info = env.step(action)
        result.steps += 1
        result.success |= bool(info["success"])
        result.final_distance = float(info["distance"])
        done = terminated or truncated
    if recorder is not None:
        recorder.capture(env, None)
    return result


def as_agent(agent: Any) -> Any:
    """``agent`` itself, or a plain callable ``policy(obs, goal)`` wrapped as an agent."""
    if callable(agent) and not hasattr(agent, "act"):
        return _CallableAgent(agent)
    return agent


def evaluate(agent: Any, env_id: str, episodes: int, seed: int = 0, env_kwargs: dict | None = None,
             max_steps: int = 0, name: str = "agent", progress: bool = True, meta: dict | None = None,
             indices: Sequence[int] | None = None, video: VideoOptions | None = None,
             workers: int = 1, out_dir: str | Path | None = None,
             protocol: OffsetProtocol | None = None) -> EvalResult:
    """Run ``episodes`` episodes of ``agent`` on ``env_id``; deterministic for a ``seed``.

    ``indices`` restricts the run to those episode indices (a shard); ``workers > 1`` splits
    them across that many spawned processes (``agent`` must then pickle) and merges the
    records, which are identical to a one-process run.  ``video`` renders chosen episodes to
    mp4; ``out_dir`` receives ``results.json`` and ``results.md``.  ``protocol`` switches to the
    ``offset`` protocol (its settings are recorded in the results).
    """
    agent = as_agent(agent)
    if protocol is not None:
        meta = {**(meta or {}), **protocol.record()}
    indices = list(range(episodes)) if indices is None else sorted(set(indices))
    if indices and not 0 <= indices[0] <= indices[-1] < episodes:
        raise ValueError(f"indices: must lie in [0, {episodes}), got {indices[0]}..{indices[-1]}")
    if workers > 1:
        from agents.parallel import evaluate_in_workers

        result = evaluate_in_workers(agent, workers, env_id=env_id, episodes=episodes, seed=seed,
                                     env_kwargs=env_kwargs, max_steps=max_steps, name=name, meta=meta,
                                     indices=indices, video=video, protocol=protocol)
    else:
        result = _evaluate_here(agent, env_id, seed, env_kwargs, max_steps, name, progress, meta, indices, video,
                                protocol)
    if out_dir is not None:
        result.write_dir(out_dir)
    return result


def _evaluate_here(agent: Any, env_id: str, seed: int, env_kwargs: dict | None, max_steps: int, name: str,
                   progress: bool, meta: dict | None, indices: list[int], video: VideoOptions | None,
                   protocol: OffsetProtocol | None = None) -> EvalResult:
    kwargs = dict(env_kwargs or {})
    if max_steps:
        kwargs["max_episode_steps"] = max_steps
    if video is not None and video.episodes:
        kwargs["render_mode"] = "rgb_array"  # rendering does not change the dynamics
    env = make_env(env_id, **kwargs)
    if hasattr(agent, "attach"):
        agent.attach(env)
    start = time.perf_counter()
    results = []
    for i in tqdm(indices, desc=f"eval {name}", unit="ep", disable=not progress):
        recorder = video.recorder(i) if video is not None else None
        results.append(run_episode(env, agent, seed + i, i, recorder, protocol))
        if recorder is not None:
            recorder.write()
    env.close()
    return EvalResult(env_id, name, results, seed, time.perf_counter() - start, dict(meta or {}))
