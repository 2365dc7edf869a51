"""Reward-free exploration policies.

Each policy is reset with a numpy generator and then maps an observation to an
action inside the action space's bounds.
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

    def __call__(self, obs: np.ndarray) -> np.ndarray:
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

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        s = self.smoothing
        self.u = s * self.u + np.sqrt(1 - s * s) * self.rng.standard_normal(self.u.shape)
        centre, half = (self.high + self.low) / 2, (self.high - self.low) / 2
        return (centre + half * np.tanh(self.u)).astype(np.float32)


def make_policy(name: str, space: gym.spaces.Box, smoothing: float = 0.9) -> UniformPolicy:
    """Build an exploration policy by name (``uniform`` or ``random_walk``)."""
    if name == "uniform":
        return UniformPolicy(space)
    if name == "random_walk":
        return RandomWalkPolicy(space, smoothing)
    raise ValueError(f"unknown exploration policy {name!r}")
