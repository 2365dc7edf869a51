"""The cross-entropy method (Rubinstein 1999), batched.

Each iteration samples ``N`` sequences ``a ~ clip(N(mu, sigma^2), low, high)``, scores
them with ``cost_fn`` in one call, and refits ``mu, sigma`` to the ``K`` lowest-cost
("elite") samples.  The previous mean is always one of the candidates, and the lowest-cost
sequence ever scored is returned, so the answer never gets worse across iterations.
"""

from __future__ import annotations

import torch

from agents.planners.base import CostFn, sanitize


class CEM:
    """Cross-entropy method over ``(H, A)`` action sequences."""

    def __init__(self, samples: int = 300, iterations: int = 10, elites: int = 30,
                 init_std: float = 1.0, min_std: float = 0.05, seed: int = 0):
        self.samples, self.iterations, self.elites = samples, iterations, elites
        self.init_std, self.min_std = init_std, min_std
        self.gen = torch.Generator().manual_seed(seed)

    def seed(self, seed: int) -> None:
        self.gen.manual_seed(seed)

    @torch.no_grad()
    def plan(self, cost_fn: CostFn, horizon: int, low: torch.Tensor, high: torch.Tensor,
             init: torch.Tensor | None = None) -> torch.Tensor:
        """Minimise ``cost_fn``; ``low, high (A,)``, ``init (H, A)`` -> ``(H, A)``."""
        low, high = low.float(), high.float()
        half = (high - low) / 2
        mean = ((high + low) / 2).expand(horizon, -1).clone() if init is None else init.float().clone()
        mean = torch.clamp(mean, low, high)
        std = (self.init_std * half).expand(horizon, -1).clone()
        best, best_cost = mean.clone(), float("inf")
        for _ in range(self.iterations):
            noise = torch.randn((self.samples, *mean.shape), generator=self.gen)
            cand = torch.clamp(mean + std * noise, low, high)
            cand[0] = mean
            costs = sanitize(cost_fn(cand).float())
            order = torch.argsort(costs)
            if costs[order[0]] < best_cost:
                best_cost, best = float(costs[order[0]]), cand[order[0]].clone()
            elite = cand[order[: self.elites]]
            if not torch.isfinite(costs[order[: self.elites]]).all():
                elite = cand[order[: max(1, int(torch.isfinite(costs).sum()))]]
            mean = elite.mean(0)
            std = torch.maximum(elite.std(0, unbiased=False), self.min_std * half)
        return torch.clamp(best, low, high)
