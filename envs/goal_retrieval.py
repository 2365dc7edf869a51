"""Goal observations retrieved from a dataset, for envs that give their goal only as a vector.

A GoalEnv's ``desired_goal`` is a task-space vector (a target position); the world model
needs a goal *observation*.  :class:`DatasetGoals` answers with the recorded observation
whose achieved goal (what the env compares with the goal, computed from the recorded true
states by the env's ``achieved_from_states``) is nearest the episode's goal.  Among the
recorded steps within ``tolerance`` of that nearest distance the slowest one is taken (the
state nearest to rest), so a state observation's velocities do not ask the planner to pass
through the goal at speed.  Old datasets work unchanged: nothing beyond ``obs`` and
``states`` is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np

from envs.dataset import DatasetError


class DatasetGoals:
    """Nearest-achieved-goal lookup over one dataset file; see the module docstring."""

    def __init__(self, path: str | Path, env: Any, tolerance: float = 0.01):
        self.path = Path(path)
        try:
            with h5py.File(self.path, "r") as f:
                self.states = f["states"][()].astype(np.float64)
                obs_shape = tuple(f["obs"].shape[1:])
        except (OSError, KeyError) as err:
            raise DatasetError(f"{self.path}: cannot read goals from it ({err})") from None
        want = tuple(env.observation_space.shape)
        if obs_shape != want:
            raise DatasetError(f"{self.path}: observations {obs_shape}, the env's are {want} (goal_source: dataset "
                               f"needs the run's own dataset)")
        self.achieved = np.asarray(env.achieved_from_states(self.states), dtype=np.float64)
        self.speed = np.asarray(env.speed_from_states(self.states), dtype=np.float64)
        self.tolerance = tolerance

    def nearest(self, goal: np.ndarray) -> int:
        """Row of the recorded step whose achieved goal is nearest ``goal`` (slowest within tolerance)."""
        goal = np.asarray(goal, dtype=np.float64).ravel()
        if self.achieved.shape[1] < len(goal):
            raise ValueError(f"goal_source: dataset: the goal has {len(goal)} values, the achieved goal "
                             f"{self.achieved.shape[1]}")
        dist = np.linalg.norm(self.achieved[:, :len(goal)] - goal, axis=1)
        near = np.flatnonzero(dist <= dist.min() + self.tolerance)
        return int(near[np.argmin(self.speed[near])])

    def lookup(self, goal: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """``(observation, state, |achieved - goal|)`` of the retrieved step."""
        row = self.nearest(goal)
        with h5py.File(self.path, "r") as f:
            obs = f["obs"][row]
        gap = float(np.linalg.norm(self.achieved[row, :len(np.ravel(goal))] - np.ravel(goal)))
        return obs, self.states[row].astype(np.float32), gap
