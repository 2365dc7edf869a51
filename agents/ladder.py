"""The control ladder: the oracle's true-simulator rollouts scored with less privileged costs.

Each rung shares the planner, budget, episodes and seeds with ``mpc``, so the gaps between
them locate a failure::

    oracle       true simulator, the task's own (privileged) distance: the planner's ceiling
    oracle-goal  true simulator, distance to the goal observation's state vector, per dimension
                 over the data's std: is the goal *as handed to the agent* reachable?
    sim-latent   true simulator, the learned encoder, latent distance to encode(goal):
                 is the latent geometry right? (pixel models: each rollout state rendered)
    mpc          the learned predictor too

``oracle -> oracle-goal`` is the loss from the goal specification, ``oracle-goal ->
sim-latent`` the loss from the latent geometry, ``sim-latent -> mpc`` the loss from the
predictor.
"""

from __future__ import annotations

import numpy as np
import torch

from agents.config import PlanConfig
from agents.costs import goal_cost, horizon_cost
from agents.oracle import OracleMPCAgent
from agents.planners import Planner
from worldmodel.model import WorldModel


class OracleGoalAgent(OracleMPCAgent):
    """True simulator; cost = squared distance of state vectors to the goal state, over ``scale``.

    ``scale (S,)`` is the per-dimension std of the data's states (the input normalisation a
    state model sees); the goal state is the env's ``goal_state`` of the episode.
    """

    def __init__(self, planner: Planner, cfg: PlanConfig, low: np.ndarray, high: np.ndarray,
                 frameskip: int, scale: np.ndarray, threads: int = 2):
        super().__init__(planner, cfg, low, high, frameskip, threads)
        self.scale = np.maximum(np.asarray(scale, dtype=np.float64), 1e-3)
        self._goal: np.ndarray | None = None

    def reset(self, obs: np.ndarray, info: dict) -> None:
        super().reset(obs, info)
        if self.env is None:
            raise RuntimeError("OracleGoalAgent needs attach(env) before reset")
        if self.env.goal_state.shape != self.scale.shape:
            raise ValueError(f"oracle-goal: state scale has shape {self.scale.shape}, "
                             f"the env's goal state {self.env.goal_state.shape}")
        self._goal = self.env.goal_state.astype(np.float64)

    def _score(self, step_states: np.ndarray) -> torch.Tensor:
        """``(N, H, nstate)`` -> ``(N,)``: normalised squared state distance, terminal + running."""
        s = self.env.state_from_physics(step_states).astype(np.float64)  # (N, H, S)
        dist = torch.as_tensor((((s - self._goal) / self.scale) ** 2).sum(-1), dtype=torch.float32)
        return horizon_cost(dist, self.cfg.running_weight, self.cfg.terminal_steps)


class SimLatentAgent(OracleMPCAgent):
    """True simulator rollouts encoded by the trained encoder; cost = the latent goal cost of ``mpc``.

    A state model encodes each rollout state's state vector; a pixel model encodes the frame each
    rollout state renders to (``env.frames_from_physics``): one render per candidate and model step,
    about a millisecond each on the CPU, so a pixel model's sim-latent runs at a reduced budget
    (``samples x iterations``, with ``mpc`` beside it at the same budget).
    """

    ENCODE_CHUNK = 1024
    """Frames encoded per call (bounds the memory of a pixel population)."""

    def __init__(self, model: WorldModel, planner: Planner, cfg: PlanConfig, low: np.ndarray,
                 high: np.ndarray, device: str | torch.device = "cpu", threads: int = 2):
        super().__init__(planner, cfg, low, high, model.frameskip, threads)
        self.model, self.device = model.eval(), torch.device(device)
        self.pixels = len(model.obs_shape) == 3
        self._z_goal: torch.Tensor | None = None

    def _encode(self, obs: np.ndarray) -> torch.Tensor:
        """``obs (..., *obs_shape)`` -> ``z (..., D)``."""
        k = len(self.model.obs_shape)
        lead, flat = obs.shape[:obs.ndim - k], np.asarray(obs).reshape(-1, *obs.shape[obs.ndim - k:])
        if not self.pixels:
            flat = flat.astype(np.float32)
        with torch.inference_mode():
            z = torch.cat([self.model.encode(torch.as_tensor(flat[i:i + self.ENCODE_CHUNK], device=self.device))
                           for i in range(0, len(flat), self.ENCODE_CHUNK)])
        return z.reshape(*lead, -1)

    def reset(self, obs: np.ndarray, info: dict) -> None:
        super().reset(obs, info)
        self._z_goal = self._encode(np.asarray(info["goal"]))

    def _observe_states(self, step_states: np.ndarray) -> np.ndarray:
        """``(N, H, nstate)`` -> the observations the model sees: ``(N, H, S)`` or ``(N, H, h, w, 3)``."""
        if self.pixels:
            return self.env.frames_from_physics(step_states)
        return self.env.state_from_physics(step_states)

    def _score(self, step_states: np.ndarray) -> torch.Tensor:
        """``(N, H, nstate)`` -> ``(N,)``: latent distance of the encoded true states to the goal latent."""
        z = self._encode(self._observe_states(step_states))  # (N, H, D)
        cost = goal_cost(z, self._z_goal, self.cfg.distance, self.cfg.running_weight, self.cfg.terminal_steps)
        return cost.float().cpu()
