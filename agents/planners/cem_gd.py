"""CEM followed by gradient refinement of its mean (a CEM -> GD hybrid).

CEM (``samples x iterations``, fewer with ``stop_tol``) finds the basin; ``refine_steps`` projected Adam steps on the
final CEM mean (one sequence, see :func:`agents.planners.gd.descend`) polish it with the
cost's gradient.  The answer is the best sequence scored by either stage, so refinement never
makes the CEM answer worse.  Budget: ``samples x iterations + refine_steps`` evaluations.
"""

from __future__ import annotations

import torch

from agents.planners.base import CostFn
from agents.planners.cem import CEM
from agents.planners.gd import descend


class CEMGD:
    """CEM, then gradient refinement of its mean; see the module docstring."""

    needs_gradient = True

    def __init__(self, samples: int = 300, iterations: int = 10, elites: int = 30, init_std: float = 1.0,
                 min_std: float = 0.05, lr: float = 0.1, refine_steps: int = 10, seed: int = 0,
                 stop_tol: float = 0.0):
        self.cem = CEM(samples, iterations, elites, init_std, min_std, seed, stop_tol)
        self.lr, self.refine_steps = lr, refine_steps

    @property
    def last_iterations(self) -> int | None:
        """CEM iterations of the last plan (the ``refine_steps`` are not counted)."""
        return self.cem.last_iterations

    def seed(self, seed: int) -> None:
        self.cem.seed(seed)

    def plan(self, cost_fn: CostFn, horizon: int, low: torch.Tensor, high: torch.Tensor,
             init: torch.Tensor | None = None) -> torch.Tensor:
        """Minimise ``cost_fn``; ``low, high (A,)``, ``init (H, A)`` -> ``(H, A)``."""
        low, high = low.float(), high.float()
        best, mean = self.cem.search(cost_fn, horizon, low, high, init)
        best = descend(cost_fn, mean[None], low, high, self.refine_steps, self.lr, best, "cem_gd")
        return torch.clamp(best.actions, low, high)
