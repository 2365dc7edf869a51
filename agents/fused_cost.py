"""A latent planning cost in one compiled call: the rollout from the plan's start and the goal cost.

:class:`~agents.mpc.MPCAgent` scores every candidate of a plan from the same start latent. With the MLP
predictor in float32, :func:`worldmodel.fast_rollout.env_steps` (env actions to model actions, the
rollout) and :func:`agents.costs.goal_cost` are compiled together by TorchScript, so scoring a
population slice is a single call that holds the GIL only to enter it: the slices of
:class:`~agents.population.PopulationSplitter` then run side by side instead of queueing for the GIL
between their small ops (``benchmarks/plan_speed.py``). Same ops, same order: the costs equal the
Python path's bit for bit (``tests/test_fused_cost.py``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from agents.config import PlanConfig
from agents.costs import goal_cost
from worldmodel.fast_rollout import Layers, MLPRollout, compiled, env_steps


def _costs(window: torch.Tensor, prefix: torch.Tensor | None, actions: torch.Tensor, frameskip: int,
           layers: Layers, eps: float, c: int, z_goal: torch.Tensor, kind: str, running_weight: float,
           terminal_steps: int) -> torch.Tensor:
    """Env actions ``(N, H, A)`` -> goal costs ``(N,)`` (the arguments of :func:`env_steps` and :func:`goal_cost`)."""
    z = env_steps(window, prefix, actions, frameskip, layers, eps, c)
    return goal_cost(z, z_goal, kind, running_weight, terminal_steps)


def _script() -> Callable[..., torch.Tensor]:
    """:func:`_costs` compiled by TorchScript once per process (:func:`worldmodel.fast_rollout.compiled`)."""
    return compiled(_costs)


class FusedCost:
    """``cost(actions (N, H, A)) -> (N,)``: the latent goal cost of env action sequences from one shared start.

    ``z0`` is the start latent ``(D,)`` or history ``(1, W, D)``, ``past (1, W - 1, k*A)`` the actions taken
    between the history's latents (``action_history`` models), ``z_goal (D,)`` the goal latent. No autograd.
    """

    def __init__(self, roll: MLPRollout, z0: torch.Tensor, past: torch.Tensor | None, frameskip: int,
                 z_goal: torch.Tensor, plan: PlanConfig):
        _script()  # compiled here, in the planning thread, before population slices call it from several threads
        self.window, self.prefix = roll.start(z0, past)
        self.layers, self.eps, self.c, self.frameskip = roll.layers, roll.eps, roll.c, frameskip
        self.z_goal, self.plan = z_goal, plan

    def __call__(self, actions: torch.Tensor) -> torch.Tensor:
        p = self.plan
        with torch.inference_mode():
            return _script()(self.window, self.prefix, actions.to(self.window.device, torch.float32),
                             self.frameskip, self.layers, self.eps, self.c, self.z_goal, p.distance,
                             p.running_weight, p.terminal_steps)


def fused_cost(roll: Callable, z0: torch.Tensor, past: torch.Tensor | None, frameskip: int,
               z_goal: torch.Tensor, plan: PlanConfig) -> FusedCost | None:
    """A :class:`FusedCost` where ``roll`` is a float32 :class:`MLPRollout`; None otherwise (the caller keeps
    its own rollout: the transformer predictor, bfloat16 rollouts, a swapped-in reference rollout)."""
    if not isinstance(roll, MLPRollout) or roll.dtype != torch.float32:
        return None
    return FusedCost(roll, z0, past, frameskip, z_goal, plan)
