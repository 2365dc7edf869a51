"""Receding-horizon agents: latent MPC and the shared plan-then-act machinery."""

from __future__ import annotations

import itertools
import time
from collections import deque

import numpy as np
import torch

from agents.config import PlanConfig
from agents.costs import goal_cost
from agents.fused_cost import FusedCost, fused_cost
from agents.planners import Planner
from agents.population import PopulationSplitter
from agents.protocol import BaseAgent
from worldmodel.fast_rollout import planning_rollout
from worldmodel.model import WorldModel

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


class RecedingHorizonAgent(BaseAgent):
    """Plans ``H`` model steps (each one env action held ``frameskip`` env steps), executes them, replans.

    Subclasses provide ``_begin(obs)`` (prepare the state planning starts from) and
    ``_cost(actions (N, H, A)) -> (N,)``.  The previous plan, shifted by one step, warm
    starts the next.  ``last_plan_ms`` is the time of the last plan and ``last_plan_iterations``
    the iterations its planner ran (``planner.last_iterations``; both None when the last ``act``
    did not plan).
    """

    def __init__(self, planner: Planner, cfg: PlanConfig, low: np.ndarray, high: np.ndarray, frameskip: int):
        self.planner, self.cfg, self.frameskip = planner, cfg, frameskip
        self.low = torch.as_tensor(low, dtype=torch.float32)
        self.high = torch.as_tensor(high, dtype=torch.float32)
        self.replan_every = cfg.replan_every or frameskip
        self._plan: torch.Tensor | None = None
        self._queue: list[np.ndarray] = []
        self.last_plan_ms: float | None = None
        self.last_plan_iterations: int | None = None

    def seed(self, seed: int) -> None:
        """Seed the planner's sampling (called per episode by the evaluator)."""
        self.planner.seed(seed)

    def reset(self, obs: np.ndarray, info: dict) -> None:
        self._plan, self._queue, self.last_plan_ms, self.last_plan_iterations = None, [], None, None

    def act(self, obs: np.ndarray) -> np.ndarray:
        """The next env action ``(A,)``, replanning every ``replan_every`` steps."""
        self.last_plan_ms = self.last_plan_iterations = None
        if not self._queue:
            t0 = time.perf_counter()
            self._begin(obs)
            init = self._shifted() if self.cfg.warm_start else None
            self._plan = self.planner.plan(self._cost, self.cfg.horizon, self.low, self.high, init)
            self.last_plan_ms = 1000 * (time.perf_counter() - t0)
            self.last_plan_iterations = getattr(self.planner, "last_iterations", None)
            steps = np.repeat(self._plan.numpy(), self.frameskip, axis=0)
            self._queue = list(steps[: self.replan_every])
        return self._queue.pop(0).astype(np.float32)

    def _shifted(self) -> torch.Tensor | None:
        if self._plan is None:
            return None
        shift = max(1, self.replan_every // self.frameskip)
        return torch.cat([self._plan[shift:], self._plan[-1:].expand(shift, -1)])

    def _begin(self, obs: np.ndarray) -> None:
        raise NotImplementedError

    def _cost(self, actions: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class MPCAgent(RecedingHorizonAgent):
    """Latent MPC: minimise the distance of predicted latents to ``encode(goal)``.

    Candidates (env actions ``(N, H, A)``) are rolled out by the model's own
    :meth:`~worldmodel.model.WorldModel.rollout_env_actions` (which holds each action
    ``frameskip`` env steps) through :func:`worldmodel.fast_rollout.planning_rollout` at
    ``cfg.precision``, rebuilt from the model's weights at every :meth:`reset`.  A population is
    scored in ``threads`` slices side by side (:class:`~agents.population.PopulationSplitter`; 0: the
    process's torch thread count), with the same costs as in one.
    """

    imagines = True

    def __init__(self, model: WorldModel, planner: Planner, cfg: PlanConfig, low: np.ndarray,
                 high: np.ndarray, device: str | torch.device = "cpu", threads: int = 0):
        super().__init__(planner, cfg, low, high, model.frameskip)
        self.split = PopulationSplitter(threads if self.device_is_cpu(device) else 1)
        self.model, self.device = model.eval(), torch.device(device)
        self._z0: torch.Tensor | None = None
        self._z_goal: torch.Tensor | None = None
        self._roll = planning_rollout(self.model, DTYPES[cfg.precision])
        self._frames: deque[np.ndarray] = deque(maxlen=(model.cfg.history - 1) * model.frameskip + 1)
        self._actions: deque[np.ndarray] = deque(maxlen=(model.cfg.history - 1) * model.frameskip)
        self._past: torch.Tensor | None = None  # model actions taken from the start window's latents
        self._fused: FusedCost | None = None  # the cost of the current plan's start in one compiled call

    def _encode(self, obs: np.ndarray) -> torch.Tensor:
        with torch.no_grad():  # not inference_mode: gradient planners differentiate through these latents
            return self.model.encode(torch.as_tensor(obs, device=self.device)[None])[0]

    def reset(self, obs: np.ndarray, info: dict) -> None:
        super().reset(obs, info)
        self._frames.clear()
        self._actions.clear()
        self._z_goal = self._encode(info["goal"])  # encoded once per episode
        self._roll = planning_rollout(self.model, DTYPES[self.cfg.precision])

    def act(self, obs: np.ndarray) -> np.ndarray:
        """The next env action ``(A,)``; every observation is kept for a history model's context."""
        self._frames.append(obs)
        action = super().act(obs)
        self._actions.append(np.asarray(action, dtype=np.float32))  # maxlen 0 (history 1): kept nowhere
        return action

    def _begin(self, obs: np.ndarray) -> None:
        """The start of the plan: the latent of ``obs`` ``(D,)``, or with ``history: c > 1`` the latents
        of the last ``c`` observations ``frameskip`` env steps apart, ``(1, c, D)`` oldest first (the
        episode's first observation stands in for those before it)."""
        self._start(obs)
        self._fused = fused_cost(self._roll, self._z0, self._past, self.frameskip, self._z_goal, self.cfg)

    def _start(self, obs: np.ndarray) -> None:
        """Sets ``self._z0`` (and ``self._past``) for a plan from ``obs``, as :meth:`_begin` describes."""
        c = self.model.cfg.history
        if c == 1:
            self._z0 = self._encode(obs)
            return
        frames = list(self._frames) or [obs]
        rows = [max(0, len(frames) - 1 - j * self.frameskip) for j in range(c - 1, -1, -1)]
        with torch.no_grad():
            window = torch.as_tensor(np.stack([frames[i] for i in rows]), device=self.device)
            self._z0 = self.model.encode(window)[None]
        if self.model.cfg.action_history:
            self._past = self._past_actions(rows)

    def _past_actions(self, rows: list[int]) -> torch.Tensor:
        """The model actions taken from the window's frames ``rows`` but the last, ``(1, c - 1, k*A)``: the
        ``frameskip`` env actions executed between two frames, concatenated; zeros between padded frames."""
        acts, k = list(self._actions), self.frameskip
        out = torch.zeros(1, len(rows) - 1, k * self.model.env_action_dim, device=self.device)
        for j, (lo, hi) in enumerate(itertools.pairwise(rows)):
            if hi - lo == k and hi <= len(acts):
                out[0, j] = torch.as_tensor(np.concatenate(acts[lo:hi]), device=self.device)
        return out

    @staticmethod
    def device_is_cpu(device: str | torch.device) -> bool:
        """Whether ``device`` is the CPU (a population split only pays there)."""
        return torch.device(device).type == "cpu"

    def _cost(self, actions: torch.Tensor) -> torch.Tensor:
        """``actions (N, H, A)`` -> ``(N,)``.

        Differentiable when ``actions`` require grad (for ``gd`` / ``cem_gd``); otherwise it
        runs under ``torch.inference_mode`` (no autograd bookkeeping), split over ``self.split``'s threads.
        """
        return self.split(self._score, actions)

    def _score(self, actions: torch.Tensor) -> torch.Tensor:
        """The latent cost of ``actions (N, H, A)`` -> ``(N,)``, in this thread: one compiled call where the
        rollout allows it (:mod:`agents.fused_cost`; the same costs), else the model's rollout and the goal cost."""
        grad = actions.requires_grad and torch.is_grad_enabled()
        if self._fused is not None and not grad:
            return self._fused(actions).cpu()
        with torch.inference_mode(not grad):
            z = self.model.rollout_env_actions(self._z0, actions, self._roll, self._past)
            return goal_cost(z, self._z_goal, self.cfg.distance, self.cfg.running_weight,
                             self.cfg.terminal_steps).cpu()

    def imagined_latents(self) -> torch.Tensor | None:
        """The latents the current plan is predicted to visit, ``(H, D)`` (None before the first plan).

        An optional hook of the evaluator's video recorder, which decodes them with a decoder probe.
        """
        if self._plan is None:
            return None
        with torch.inference_mode():
            return self.model.rollout_env_actions(self._z0, self._plan, self._roll, self._past).cpu()
