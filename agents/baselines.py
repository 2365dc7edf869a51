"""Baseline agents."""

from __future__ import annotations

import numpy as np

from agents.protocol import BaseAgent


class RandomAgent(BaseAgent):
    """Uniform random actions, seeded per episode by :meth:`reset` order."""

    def __init__(self, low: np.ndarray, high: np.ndarray, seed: int = 0):
        self.low, self.high = np.asarray(low), np.asarray(high)
        self.rng = np.random.default_rng(seed)

    def seed(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def act(self, obs: np.ndarray) -> np.ndarray:
        return self.rng.uniform(self.low, self.high).astype(np.float32)
