"""Gradient-descent planning: Adam through a differentiable cost, projected to the bounds.

``N = samples`` sequences are optimised in parallel (the costs are independent, so the
gradient of their sum gives each sequence its own gradient): sequence 0 starts at the
initial mean (``init`` or the box centre), the others at ``mean + init_std * half * noise``.
Actions are optimised in box-normalised coordinates ``u = (a - centre) / half``, so ``lr`` is
a fraction of the half action range, and after every Adam step ``u`` is projected back to
``[-1, 1]`` (projected gradient descent).  ``iterations`` cost evaluations (with their
backward passes) give a budget of ``samples x iterations``, as for the sampling planners;
the best sequence ever scored is returned.  A sequence whose cost or gradient is not finite
gets a zero gradient (it stays put and, its cost being +inf, is never selected).
"""

from __future__ import annotations

import torch

from agents.planners.base import Best, CostFn, NonDifferentiableCost, SeededPlanner, initial_mean, sanitize


def _differentiable_costs(cost_fn: CostFn, actions: torch.Tensor, name: str) -> torch.Tensor:
    with torch.enable_grad():
        costs = cost_fn(actions)
    if costs.shape != (actions.shape[0],):
        raise ValueError(f"cost_fn: expected costs of shape ({actions.shape[0]},), got {tuple(costs.shape)}")
    if not costs.requires_grad:
        raise NonDifferentiableCost(f"planner {name!r} needs a differentiable cost_fn (its costs carry no "
                                    "gradient); wrap a black-box cost with finite_difference()")
    return costs


def descend(cost_fn: CostFn, start: torch.Tensor, low: torch.Tensor, high: torch.Tensor, steps: int,
            lr: float, best: Best, name: str = "gd") -> Best:
    """Projected Adam from ``start (N, H, A)`` for ``steps`` evaluations; updates and returns ``best``.

    Adam (Kingma & Ba 2015) is written out (``torch.optim`` would import the compiler stack,
    seconds per process): ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``,
    ``u <- clip(u - lr * m_hat / (sqrt(v_hat) + eps), -1, 1)``.
    """
    b1, b2, eps = 0.9, 0.999, 1e-8
    centre, half = (high + low) / 2, (high - low) / 2
    scale = torch.where(half > 0, half, torch.ones_like(half))
    u = ((start - centre) / scale).clamp(-1, 1)
    m, v = torch.zeros_like(u), torch.zeros_like(u)
    for step in range(steps):
        # Step 1. evaluate the cost and its gradient at the current sequences
        u.requires_grad_(True)
        actions = centre + scale * u
        costs = _differentiable_costs(cost_fn, actions, name)
        best.update(actions.detach(), sanitize(costs.detach().float().cpu()))
        finite = torch.isfinite(costs.detach())
        if step == steps - 1 or not finite.any():
            break
        (grad,) = torch.autograd.grad(costs[finite].sum(), u)
        grad = torch.nan_to_num(grad, nan=0.0, posinf=0.0, neginf=0.0)
        # Step 2. Adam moments with bias correction
        m = b1 * m + (1 - b1) * grad
        v = b2 * v + (1 - b2) * grad.pow(2)
        m_hat, v_hat = m / (1 - b1 ** (step + 1)), v / (1 - b2 ** (step + 1))
        # Step 3. step and project back into the box
        u = (u.detach() - lr * m_hat / (v_hat.sqrt() + eps)).clamp(-1, 1)
    return best


class GradientDescent(SeededPlanner):
    """Projected Adam on ``samples`` parallel action sequences; see the module docstring."""

    needs_gradient = True

    def __init__(self, samples: int = 300, iterations: int = 10, init_std: float = 1.0, lr: float = 0.1,
                 seed: int = 0):
        self.samples, self.iterations, self.init_std, self.lr = samples, iterations, init_std, lr
        super().__init__(seed)

    def plan(self, cost_fn: CostFn, horizon: int, low: torch.Tensor, high: torch.Tensor,
             init: torch.Tensor | None = None) -> torch.Tensor:
        """Minimise ``cost_fn``; ``low, high (A,)``, ``init (H, A)`` -> ``(H, A)``."""
        low, high = low.float(), high.float()
        mean = initial_mean(horizon, low, high, init)
        noise = torch.randn((self.samples, *mean.shape), generator=self.gen)
        start = torch.clamp(mean + self.init_std * (high - low) / 2 * noise, low, high)
        start[0] = mean
        best = descend(cost_fn, start, low, high, self.iterations, self.lr, Best(mean), "gd")
        self.last_iterations = self.iterations
        return torch.clamp(best.actions, low, high)
