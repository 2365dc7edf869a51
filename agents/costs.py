"""Goal costs on predicted latents.

``cost = d(z_H, z_g) + w * mean_t d(z_t, z_g)`` with ``d`` the squared L2 distance or the
cosine distance ``1 - cos(z, z_g)``.
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
    raise ValueError(f"distance: unknown {kind!r}")


def goal_cost(z_pred: torch.Tensor, z_goal: torch.Tensor, kind: str = "l2",
              running_weight: float = 0.0) -> torch.Tensor:
    """``z_pred (N, H, D)``, ``z_goal (D,)`` -> ``(N,)``: terminal (+ weighted running) distance."""
    d = latent_distance(z_pred, z_goal, kind)
    cost = d[:, -1]
    if running_weight > 0:
        cost = cost + running_weight * d.mean(1)
    return cost
