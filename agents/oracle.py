"""The upper bound: the same planner at the same budget on the true simulator.

Candidate sequences are rolled out in batch with ``mujoco.rollout`` from the env's current
simulator state, and scored with the task's own distance to the goal (under the ``offset``
protocol, the peers' success margin).  :mod:`agents.ladder` scores the same rollouts with
less privileged costs.

The task's distance is the env's true one where it has one (a maze geodesic, ...); an env
that only offers the straight line ``|achieved - goal|`` (``distance_kind == "straight line"``,
e.g. ``wm/Custom-v0`` off a maze) gets one ``warning: oracle: ...`` line on stderr at
:meth:`OracleMPCAgent.attach`, since that line does not see walls in between.

Gradient planners (``gd``, ``cem_gd``) cannot backpropagate through MuJoCo; for them the
oracle's cost is wrapped in central finite differences
(:func:`agents.planners.finite_difference`, step ``plan.fd_eps``), so each gradient step
costs ``1 + 2 H A`` rollouts per sequence instead of 1.  This is the documented fallback:
the oracle then spends more simulator calls than its nominal ``samples x iterations``.
"""

from __future__ import annotations

import sys

import mujoco
import numpy as np
import torch
from mujoco import rollout

from agents.config import PlanConfig
from agents.costs import horizon_cost
from agents.mpc import RecedingHorizonAgent
from agents.planners import Planner, finite_difference


def warn_straight_line(env) -> None:
    """One warning line: the env gives no true distance, so the oracle plans on the straight line."""
    name = getattr(env, "label", "") or type(env).__name__
    print(f"warning: oracle: {name} gives no true distance to the goal; planning on the straight line "
          f"|achieved - goal| ({env.distance_units or 'its units'}), which does not see walls in between",
          file=sys.stderr)


class OracleMPCAgent(RecedingHorizonAgent):
    """Receding-horizon planning through ``mujoco.rollout``; needs :meth:`attach` to an env."""

    def __init__(self, planner: Planner, cfg: PlanConfig, low: np.ndarray, high: np.ndarray,
                 frameskip: int, threads: int = 2):
        super().__init__(planner, cfg, low, high, frameskip)
        self.threads = threads
        if planner.needs_gradient:
            self._cost = finite_difference(self._sim_cost, self.low, self.high, cfg.fd_eps)
        else:
            self._cost = self._sim_cost
        self.env = None
        self._datas: list[mujoco.MjData] = []
        self._state: np.ndarray | None = None

    def attach(self, env) -> None:
        """Give the agent the live env whose simulator it plans on."""
        self.env = env.unwrapped
        self._datas = [mujoco.MjData(self.env.model) for _ in range(self.threads)]
        if getattr(self.env, "distance_kind", "") == "straight line":
            warn_straight_line(self.env)

    def _begin(self, obs: np.ndarray) -> None:
        if self.env is None:
            raise RuntimeError("OracleMPCAgent needs attach(env) before acting")
        self._state = self.env.get_sim_state()

    def _sim_cost(self, actions: torch.Tensor) -> torch.Tensor:
        """``actions (N, H, A)`` -> cost ``(N,)`` of the true rollouts, scored by :meth:`_score`."""
        env = self.env
        h = actions.shape[1]
        per_step = self.frameskip * env.frame_skip  # env steps per model step x MuJoCo substeps per env step
        ctrl = np.repeat(actions.detach().numpy().astype(np.float64), per_step, axis=1)  # (N, H*k*fs, A)
        states, _ = rollout.rollout(env.model, self._datas, self._state[None], ctrl)
        idx = np.arange(per_step - 1, h * per_step, per_step)
        return self._score(states[:, idx])

    def _score(self, step_states: np.ndarray) -> torch.Tensor:
        """Simulator states after each model step ``(N, H, nstate)`` -> ``(N,)``: the distance the
        episode is scored by, terminal + ``running_weight`` x its mean over the horizon."""
        dist = torch.as_tensor(self.env.goal_distance_from_physics(step_states), dtype=torch.float32)  # (N, H)
        return horizon_cost(dist, self.cfg.running_weight, self.cfg.terminal_steps)
