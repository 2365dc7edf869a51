"""MPPI: model-predictive path integral control (Williams et al. 2017), iterated.

Each iteration samples ``N`` sequences around the mean, scores them, and moves the mean to
their importance-weighted average

    w_i = exp(-(c_i - c_min) / lambda) / sum_j exp(-(c_j - c_min) / lambda),
    mu <- sum_i w_i a_i,    sigma <- sqrt(sum_i w_i (a_i - mu)^2)  (clamped to ``min_std``)

with ``lambda = temperature * (median(c) - c_min)``: the temperature is relative to the
spread of this iteration's costs, so one value works for latent costs of any scale
(an absolute ``lambda`` must be retuned for every model).  Non-finite costs get weight 0.
As in every planner here, the returned sequence is the best one scored (the mean is
candidate 0 of each iteration), so a NaN cost is never selected.  With ``stop_tol > 0`` the
iterations end once an update moves the mean by less than ``stop_tol`` of the half range in
every coordinate, as in CEM.
"""

from __future__ import annotations

import torch

from agents.planners.base import Best, CostFn, SeededPlanner, around, converged, evaluate_costs, search_start


def importance_weights(costs: torch.Tensor, temperature: float) -> torch.Tensor:
    """``costs (N,)`` (non-finite allowed) -> weights ``(N,)`` summing to 1 (uniform over finite if flat)."""
    finite = torch.isfinite(costs)
    if not finite.any():
        return torch.full_like(costs, 1.0 / len(costs))
    c = torch.where(finite, costs, torch.zeros_like(costs))
    c_min = c[finite].min()
    spread = float(c[finite].median() - c_min)
    lam = temperature * spread if spread > 0 else 1.0
    logits = torch.where(finite, -(c - c_min) / lam, torch.full_like(c, float("-inf")))
    return torch.softmax(logits, 0)


class MPPI(SeededPlanner):
    """Iterated MPPI over ``(H, A)`` action sequences; see the module docstring."""

    needs_gradient = False

    def __init__(self, samples: int = 300, iterations: int = 10, init_std: float = 1.0,
                 temperature: float = 0.1, min_std: float = 0.05, seed: int = 0, stop_tol: float = 0.0):
        self.samples, self.iterations = samples, iterations
        self.init_std, self.temperature, self.min_std = init_std, temperature, min_std
        self.stop_tol = stop_tol
        super().__init__(seed)

    def plan(self, cost_fn: CostFn, horizon: int, low: torch.Tensor, high: torch.Tensor,
             init: torch.Tensor | None = None) -> torch.Tensor:
        """Minimise ``cost_fn``; ``low, high (A,)``, ``init (H, A)`` -> ``(H, A)``."""
        low, high, half, mean, std = search_start(horizon, low, high, init, self.init_std)
        best = Best(mean)
        for step in range(self.iterations):
            noise = torch.randn((self.samples, *mean.shape), generator=self.gen)
            cand = around(mean, std, noise, low, high)
            costs = evaluate_costs(cost_fn, cand)
            best.update(cand, costs)
            w = importance_weights(costs, self.temperature)[:, None, None]  # (N, 1, 1)
            new_mean = (w * cand).sum(0)
            std = torch.maximum(torch.sqrt((w * (cand - new_mean).pow(2)).sum(0)), self.min_std * half)
            self.last_iterations = step + 1
            mean, done = new_mean, converged(mean, new_mean, half, self.stop_tol)
            if done:
                break
        return torch.clamp(best.actions, low, high)
