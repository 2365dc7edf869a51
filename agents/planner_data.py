"""Episodes recorded by a planning agent: the transitions its planner seeks out.

A planner optimises against its world model, so it steers toward the states and actions where the
model's errors make a plan look good; exploration data rarely holds those. Recording the planner's own
episodes in the true env (its actions plus Gaussian noise, so the data also covers their neighbourhood)
and training the predictor on them corrects the model exactly where planning relied on it, as
data-aggregation schemes in model-based RL do (``train.planner_episodes``).
"""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import numpy as np
from tqdm import tqdm

from agents.protocol import BaseAgent
from envs.offset import OffsetProtocol


def record_agent_episode(env: gym.Env, agent: BaseAgent, seed: int, steps: int, noise: float,
                         rng: np.random.Generator, protocol: OffsetProtocol | None = None) -> dict[str, np.ndarray]:
    """``steps`` env steps of ``agent`` from ``env.reset(seed=seed)`` (or ``protocol``'s start and goal for that
    seed), each action plus ``N(0, noise * half range)`` clipped to the box; shorter where the env ends the
    episode first (switch its stop on success off to record all ``steps``).

    Returns ``obs (T+1, ...)``, ``states (T+1, S)``, ``actions (T, A)`` as :func:`envs.collect.record_episode`.
    """
    agent.seed(seed)
    options = protocol.reset_options(env, seed) if protocol is not None else None
    obs, info = env.reset(seed=seed, options=options)
    agent.reset(obs, info)
    base, low, high = env.unwrapped, env.action_space.low, env.action_space.high
    half = (high - low) / 2
    obs_list, states, actions = [obs], [base.state_vector()], []
    for _ in range(steps):
        action = np.asarray(agent.act(obs), np.float64)
        action = np.clip(action + noise * half * rng.standard_normal(action.shape), low, high)
        obs, _, terminated, truncated, _ = env.step(action.astype(np.float32))
        obs_list.append(obs)
        states.append(base.state_vector())
        actions.append(action)
        if terminated or truncated:
            break
    return {"obs": np.stack(obs_list), "states": np.stack(states).astype(np.float32),
            "actions": np.stack(actions).astype(np.float32)}


EpisodeGroup = tuple[Sequence[int], int, OffsetProtocol | None]
"""Reset seeds, steps per episode and protocol (None: the task's) of a group of episodes."""


def record_agent_episodes(env: gym.Env, agent: BaseAgent, runs: Sequence[EpisodeGroup], noise: float, seed: int,
                          progress: bool = True) -> list[dict[str, np.ndarray]]:
    """Episodes of every ``(seeds, steps, protocol)`` group in ``runs``, in order (see
    :func:`record_agent_episode`); the noise stream is seeded with ``seed``, so the result is deterministic."""
    rng = np.random.default_rng([seed, 11])
    total = sum(len(seeds) for seeds, _, _ in runs)
    episodes = []
    with tqdm(total=total, desc="planner episodes", unit="ep", disable=not progress) as bar:
        for seeds, steps, protocol in runs:
            for s in seeds:
                episodes.append(record_agent_episode(env, agent, s, steps, noise, rng, protocol))
                bar.update(1)
    return episodes
