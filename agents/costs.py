"""Goal costs on predicted latents.

``cost = mean_{t > H - k} d(z_t, z_g) + w * mean_t d(z_t, z_g)`` with ``d`` the squared L2 distance
or the cosine distance ``1 - cos(z, z_g)``, ``k`` the terminal steps (1: the last predicted latent)
and ``w`` the running weight.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def latent_distance(z: torch.Tensor, z_goal: torch.Tensor, kind: str = "l2") -> torch.Tensor:
    """``z (..., D)``, ``z_goal (D,)`` or broadcastable -> ``(...)``."""
    if kind == "l2":
        return (z - z_goal).pow(2).sum(-1)
    if kind == "cosine":
        return 1 - F.cosine_similarity(z, z_goal.expand_as(z), dim=-1)
    raise ValueError("distance: unknown '" + kind + "'")  # no f-string: TorchScript compiles this (fused_cost)


def horizon_cost(dist: torch.Tensor, running_weight: float = 0.0, terminal_steps: int = 1) -> torch.Tensor:
    """Per-step goal distances ``(N, H)`` -> ``(N,)``: the mean over the last ``terminal_steps`` steps
    (all of them where the horizon is shorter) + ``running_weight`` x the mean over the horizon.

    A terminal window of a few steps asks the plan to *stay* at the goal, which a goal frame at rest
    implies but one predicted latent per step does not say.
    """
    cost = dist[:, -terminal_steps:].mean(1)
    if running_weight > 0:
        cost = cost + running_weight * dist.mean(1)
    return cost


def goal_cost(z_pred: torch.Tensor, z_goal: torch.Tensor, kind: str = "l2",
              running_weight: float = 0.0, terminal_steps: int = 1) -> torch.Tensor:
    """``z_pred (N, H, D)``, ``z_goal (D,)`` -> ``(N,)``: terminal (+ weighted running) distance."""
    return horizon_cost(latent_distance(z_pred, z_goal, kind), running_weight, terminal_steps)
