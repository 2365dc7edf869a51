"""The planner interface.

A planner minimises ``cost_fn(actions (N, H, A)) -> (N,)`` over action sequences inside
``[low, high]`` and returns the best sequence ``(H, A)``.  It knows nothing of envs,
models or logging; non-finite costs are treated as +inf and never selected, and no
returned action leaves the bounds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import torch

CostFn = Callable[[torch.Tensor], torch.Tensor]


class Planner(Protocol):
    def plan(self, cost_fn: CostFn, horizon: int, low: torch.Tensor, high: torch.Tensor,
             init: torch.Tensor | None = None) -> torch.Tensor:
        """``low, high (A,)``, ``init (H, A)`` or None -> actions ``(H, A)``."""
        ...

    def seed(self, seed: int) -> None:
        ...


def sanitize(costs: torch.Tensor) -> torch.Tensor:
    """Replace NaN / -inf / +inf costs by +inf so they can never be selected; ``(N,) -> (N,)``."""
    return torch.where(torch.isfinite(costs), costs, torch.full_like(costs, float("inf")))


def build_planner(cfg) -> Planner:
    """The planner named by ``cfg.planner`` (an :class:`agents.config.PlanConfig`)."""
    if cfg.planner == "cem":
        from agents.planners.cem import CEM

        return CEM(cfg.samples, cfg.iterations, cfg.elites, cfg.init_std, cfg.min_std)
    raise ValueError(f"planner: unknown {cfg.planner!r}")
