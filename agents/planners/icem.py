"""iCEM: the improved cross-entropy method (Pinneri et al. 2020, CoRL).

CEM with three changes, each a parameter:

* coloured sampling noise ``S(f) ~ 1/f^beta`` along the horizon (``beta = 0``: plain CEM
  noise; ``beta = 2``: smooth, low-frequency action sequences);
* elite reuse: a fraction ``keep_elites`` of the elites of one iteration joins the next
  iteration's population with its already-known cost (no re-evaluation);
* momentum: ``mu <- momentum * mu + (1 - momentum) * mean(elites)`` (same for ``sigma``).

Shift initialisation is the caller's ``init`` (the MPC agent passes the previous plan
shifted by one step).  Unlike the paper the population does not decay across iterations,
so the budget is exactly ``samples x iterations`` evaluations, as for every planner (fewer
with ``stop_tol > 0``: the iterations end once the mean has converged, as in CEM).
"""

from __future__ import annotations

import torch

from agents.planners.base import Best, CostFn, SeededPlanner, around, converged, evaluate_costs, search_start
from agents.planners.cem import refit
from agents.planners.noise import colored_noise


class ICEM(SeededPlanner):
    """iCEM over ``(H, A)`` action sequences; see the module docstring."""

    needs_gradient = False

    def __init__(self, samples: int = 300, iterations: int = 10, elites: int = 30, init_std: float = 1.0,
                 min_std: float = 0.05, beta: float = 2.0, keep_elites: float = 0.3, momentum: float = 0.1,
                 seed: int = 0, stop_tol: float = 0.0):
        self.samples, self.iterations, self.elites = samples, iterations, elites
        self.init_std, self.min_std, self.stop_tol = init_std, min_std, stop_tol
        self.beta, self.keep, self.momentum = beta, round(keep_elites * elites), momentum
        super().__init__(seed)

    def plan(self, cost_fn: CostFn, horizon: int, low: torch.Tensor, high: torch.Tensor,
             init: torch.Tensor | None = None) -> torch.Tensor:
        """Minimise ``cost_fn``; ``low, high (A,)``, ``init (H, A)`` -> ``(H, A)``."""
        low, high, half, mean, std = search_start(horizon, low, high, init, self.init_std)
        best = Best(mean)
        kept, kept_costs = torch.empty((0, *mean.shape)), torch.empty(0)  # (K', H, A), (K',)
        for step in range(self.iterations):
            # Step 1. sample coloured noise around the mean; the mean itself is a candidate
            noise = colored_noise(self.samples, horizon, mean.shape[1], self.beta, self.gen)
            cand = around(mean, std, noise, low, high)
            # Step 2. score the new candidates; the kept elites keep their known costs
            costs = evaluate_costs(cost_fn, cand)
            best.update(cand, costs)
            pool, pool_costs = torch.cat([cand, kept]), torch.cat([costs, kept_costs])
            # Step 3. refit with momentum, and keep the best elites for the next iteration
            elite_mean, elite_std = refit(pool, pool_costs, self.elites)
            new_mean = self.momentum * mean + (1 - self.momentum) * elite_mean
            std = torch.maximum(self.momentum * std + (1 - self.momentum) * elite_std, self.min_std * half)
            self.last_iterations = step + 1
            mean, done = new_mean, converged(mean, new_mean, half, self.stop_tol)
            if done:  # Step 4. stop once the mean has converged (stop_tol > 0)
                break
            order = torch.argsort(pool_costs)[: self.keep]
            order = order[torch.isfinite(pool_costs[order])]
            kept, kept_costs = pool[order], pool_costs[order]
        return torch.clamp(best.actions, low, high)
