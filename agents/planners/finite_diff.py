"""Make a black-box batched cost differentiable by central finite differences.

For costs autograd cannot see through (the true simulator in the oracle), the gradient
planners (``gd``, ``cem_gd``) get

    dc/da_j ~ (c(a + e_j) - c(a - e_j)) / ((a + e_j)_j - (a - e_j)_j),   e_j = eps * half_j

with both perturbed sequences clipped to the bounds (one-sided at a bound).  All ``2 H A``
perturbations of all ``N`` sequences go to ``cost_fn`` in one batched call, so one gradient
evaluation costs ``1 + 2 H A`` sequence evaluations instead of 1: the oracle's gradient
planners spend that many more simulator rollouts than their ``samples x iterations`` budget.
"""

from __future__ import annotations

import torch

from agents.planners.base import CostFn


class _CentralDifference(torch.autograd.Function):
    @staticmethod
    def forward(ctx, actions, cost_fn, step, low, high):
        n, h, a = actions.shape
        d = h * a
        offsets = torch.diag_embed(step.repeat(h)).reshape(d, h, a)  # (d, H, A): one coordinate each
        plus = torch.clamp(actions[:, None] + offsets, low, high)  # (N, d, H, A)
        minus = torch.clamp(actions[:, None] - offsets, low, high)
        costs = cost_fn(torch.cat([actions, plus.reshape(-1, h, a), minus.reshape(-1, h, a)])).float()
        c_plus, c_minus = costs[n:n + n * d].reshape(n, d), costs[n + n * d:].reshape(n, d)
        width = (plus - minus).reshape(n, d, d).diagonal(dim1=1, dim2=2)  # (N, d)
        grad = torch.where(width > 0, (c_plus - c_minus) / width.clamp_min(1e-12), torch.zeros_like(width))
        ctx.save_for_backward(grad.reshape(n, h, a))
        return costs[:n]

    @staticmethod
    def backward(ctx, grad_out):
        (grad,) = ctx.saved_tensors
        return grad_out[:, None, None] * grad, None, None, None, None


class FiniteDifferenceCost:
    """``cost_fn`` made differentiable (see the module docstring); a picklable callable."""

    def __init__(self, cost_fn: CostFn, low: torch.Tensor, high: torch.Tensor, eps: float = 0.02):
        self.cost_fn, self.low, self.high = cost_fn, low.float(), high.float()
        self.step = eps * (self.high - self.low) / 2

    def __call__(self, actions: torch.Tensor) -> torch.Tensor:
        """``actions (N, H, A)`` -> ``(N,)``; the bare ``cost_fn`` when no gradient is asked."""
        if not (actions.requires_grad and torch.is_grad_enabled()):
            return self.cost_fn(actions)
        return _CentralDifference.apply(actions, self.cost_fn, self.step, self.low, self.high)


def finite_difference(cost_fn: CostFn, low: torch.Tensor, high: torch.Tensor, eps: float = 0.02) -> CostFn:
    """Wrap ``cost_fn (N, H, A) -> (N,)`` so that it is differentiable; ``eps`` is a fraction of the half range.

    Called on actions that do not require grad, the wrapper is ``cost_fn`` itself (no extra cost).
    """
    return FiniteDifferenceCost(cost_fn, low, high, eps)
