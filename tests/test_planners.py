"""Planners on analytic costs: convergence, bounds, non-finite costs."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.planners import CEM


def quadratic(target: torch.Tensor):
    def cost(actions: torch.Tensor) -> torch.Tensor:  # (N, H, A) -> (N,)
        return (actions - target).pow(2).sum(dim=(1, 2))

    return cost


def test_cem_converges_on_quadratic():
    target = torch.tensor([[0.3, -0.7], [0.5, 0.1], [-0.2, 0.9]])
    cem = CEM(samples=200, iterations=15, elites=20, seed=0)
    plan = cem.plan(quadratic(target), 3, -torch.ones(2), torch.ones(2))
    assert plan.shape == (3, 2)
    assert torch.allclose(plan, target, atol=0.05)


def test_cem_optimum_outside_bounds_is_clipped_to_the_boundary():
    target = torch.full((4, 1), 3.0)
    plan = CEM(100, 10, 10, seed=1).plan(quadratic(target), 4, -torch.ones(1), torch.ones(1))
    assert torch.allclose(plan, torch.ones(4, 1), atol=1e-3)


def test_cem_warm_start_is_kept_when_optimal():
    target = torch.tensor([[0.25, -0.5]] * 5)
    plan = CEM(16, 1, 4, seed=2).plan(quadratic(target), 5, -torch.ones(2), torch.ones(2), init=target)
    assert torch.equal(plan, target)


def test_cem_is_deterministic_for_a_seed():
    target = torch.zeros(3, 2)
    a = CEM(50, 3, 5, seed=4).plan(quadratic(target), 3, -torch.ones(2), torch.ones(2))
    b = CEM(50, 3, 5, seed=4).plan(quadratic(target), 3, -torch.ones(2), torch.ones(2))
    assert torch.equal(a, b)


def test_nan_and_inf_costs_never_selected():
    target = torch.tensor([[0.5, 0.5]])

    def cost(actions):
        c = quadratic(target)(actions)
        bad = actions[:, 0, 0] > 0.4  # region around the optimum returns NaN / inf
        c[bad & (actions[:, 0, 1] > 0)] = float("nan")
        c[bad & (actions[:, 0, 1] <= 0)] = float("inf")
        return c

    plan = CEM(200, 8, 20, seed=3).plan(cost, 1, -torch.ones(2), torch.ones(2))
    assert plan[0, 0] <= 0.4


@settings(max_examples=25, deadline=None)
@given(
    low=st.floats(-5, 0.9), width=st.floats(0.01, 5), horizon=st.integers(1, 6),
    shift=st.floats(-20, 20), seed=st.integers(0, 2**31 - 1),
)
def test_cem_never_leaves_bounds(low, width, horizon, shift, seed):
    lo, hi = torch.tensor([low, low - 1]), torch.tensor([low + width, low - 1 + width])
    target = torch.full((horizon, 2), shift)
    plan = CEM(20, 3, 5, seed=seed).plan(quadratic(target), horizon, lo, hi)
    assert plan.shape == (horizon, 2)
    assert (plan >= lo).all() and (plan <= hi).all()
