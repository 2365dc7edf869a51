"""The cross-entropy method (Rubinstein 1999), batched.

Each iteration samples ``N`` sequences ``a ~ clip(N(mu, sigma^2), low, high)``, scores
them with ``cost_fn`` in one call, and refits ``mu, sigma`` to the ``K`` lowest-cost
("elite") samples.  The previous mean is always one of the candidates, and the lowest-cost
sequence ever scored is returned, so the answer never gets worse across iterations.
With ``stop_tol > 0`` the iterations end once a refit moves the mean by less than
``stop_tol`` of the half action range in every coordinate (:func:`~agents.planners.base.converged`).
"""

from __future__ import annotations

import torch

from agents.planners.base import Best, CostFn, SeededPlanner, around, converged, evaluate_costs, search_start


def refit(candidates: torch.Tensor, costs: torch.Tensor, elites: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and std ``(H, A)`` of the ``elites`` lowest-cost ``candidates (N, H, A)``.

    Non-finite costs are never elites (while at least one cost is finite).
    """
    finite = int(torch.isfinite(costs).sum())
    k = max(1, min(elites, finite, len(costs)))
    elite = candidates[torch.topk(costs, k, largest=False, sorted=False).indices]  # a partial sort: K << N
    return elite.mean(0), elite.std(0, unbiased=False)


class CEM(SeededPlanner):
    """Cross-entropy method over ``(H, A)`` action sequences."""

    needs_gradient = False

    def __init__(self, samples: int = 300, iterations: int = 10, elites: int = 30,
                 init_std: float = 1.0, min_std: float = 0.05, seed: int = 0, stop_tol: float = 0.0):
        self.samples, self.iterations, self.elites = samples, iterations, elites
        self.init_std, self.min_std, self.stop_tol = init_std, min_std, stop_tol
        super().__init__(seed)

    def search(self, cost_fn: CostFn, horizon: int, low: torch.Tensor, high: torch.Tensor,
               init: torch.Tensor | None = None) -> tuple[Best, torch.Tensor]:
        """Run CEM; return the best sequence seen and the final mean ``(H, A)``."""
        low, high, half, mean, std = search_start(horizon, low, high, init, self.init_std)
        best = Best(mean)
        for step in range(self.iterations):
            noise = torch.randn((self.samples, *mean.shape), generator=self.gen)
            cand = around(mean, std, noise, low, high)
            costs = evaluate_costs(cost_fn, cand)
            best.update(cand, costs)
            new_mean, std = refit(cand, costs, self.elites)
            std = torch.maximum(std, self.min_std * half)
            self.last_iterations = step + 1
            mean, done = new_mean, converged(mean, new_mean, half, self.stop_tol)
            if done:
                break
        return best, mean

    def plan(self, cost_fn: CostFn, horizon: int, low: torch.Tensor, high: torch.Tensor,
             init: torch.Tensor | None = None) -> torch.Tensor:
        """Minimise ``cost_fn``; ``low, high (A,)``, ``init (H, A)`` -> ``(H, A)``."""
        best, _ = self.search(cost_fn, horizon, low, high, init)
        return torch.clamp(best.actions, low.float(), high.float())
