"""Reward-free exploration policies.

Each policy is reset with a numpy generator and then maps ``(obs, state)`` -- the
observation and the env's true low-dimensional state -- to an action inside the action
space's bounds.  ``uniform`` and ``random_walk`` ignore both; ``scripted`` is the env's own
scripted explorer (``env.unwrapped.scripted_policy(noise)``, e.g. Push-T's pusher).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np


class UniformPolicy:
    """Independent uniform actions in the box."""

    def __init__(self, space: gym.spaces.Box):
        self.low, self.high = space.low.astype(np.float64), space.high.astype(np.float64)
        self.rng = np.random.default_rng(0)

    def reset(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def __call__(self, obs: np.ndarray, state: np.ndarray | None = None) -> np.ndarray:
        return self.rng.uniform(self.low, self.high).astype(np.float32)


class RandomWalkPolicy(UniformPolicy):
    """Temporally correlated actions (an AR(1) process), so the agent travels far.

    ``u_t = s * u_{t-1} + sqrt(1 - s^2) * eps_t`` with ``eps_t ~ N(0, 1)`` keeps ``u``
    standard normal while correlating it over ``~1 / (1 - s)`` steps; the action is
    ``centre + half_range * tanh(u)``, always inside the bounds.
    """

    def __init__(self, space: gym.spaces.Box, smoothing: float = 0.9):
        super().__init__(space)
        self.smoothing = smoothing
        self.u = np.zeros_like(self.low)

    def reset(self, rng: np.random.Generator) -> None:
        super().reset(rng)
        self.u = rng.standard_normal(self.low.shape)

    def __call__(self, obs: np.ndarray, state: np.ndarray | None = None) -> np.ndarray:
        s = self.smoothing
        self.u = s * self.u + np.sqrt(1 - s * s) * self.rng.standard_normal(self.u.shape)
        centre, half = (self.high + self.low) / 2, (self.high - self.low) / 2
        return (centre + half * np.tanh(self.u)).astype(np.float32)


def make_policy(name: str, space: gym.spaces.Box, smoothing: float = 0.9, env: gym.Env | None = None,
                noise: float = 0.3):
    """Build an exploration policy by name: ``uniform``, ``random_walk`` or ``scripted``.

    ``scripted`` needs ``env``, whose unwrapped object must offer ``scripted_policy(noise)``.
    """
    if name == "uniform":
        return UniformPolicy(space)
    if name == "random_walk":
        return RandomWalkPolicy(space, smoothing)
    if name == "scripted":
        base = getattr(env, "unwrapped", None)
        if not hasattr(base, "scripted_policy"):
            raise ValueError(f"policy 'scripted': env {type(base).__name__} has no scripted explorer "
                             "(available for wm/PushT-v0)")
        return base.scripted_policy(noise)
    raise ValueError(f"unknown exploration policy {name!r}")
