"""Pieces of the planners: coloured noise, MPPI weights, finite-difference gradients."""

from __future__ import annotations

import pytest
import torch

from agents.planners import finite_difference
from agents.planners.mppi import importance_weights
from agents.planners.noise import colored_noise


def _lag1(x: torch.Tensor) -> float:
    return float((x[:, 1:] * x[:, :-1]).mean() / x.pow(2).mean())


@pytest.mark.parametrize("horizon", [1, 2, 5, 10, 11])
@pytest.mark.parametrize("beta", [0.0, 1.0, 2.0])
def test_colored_noise_has_unit_variance(horizon, beta):
    x = colored_noise(20_000, horizon, 2, beta, torch.Generator().manual_seed(0))
    assert x.shape == (20_000, horizon, 2)
    assert torch.allclose(x.var(0), torch.ones(horizon, 2), atol=0.05)


def test_colored_noise_correlation_grows_with_beta():
    gen = torch.Generator().manual_seed(1)
    lags = [_lag1(colored_noise(5000, 10, 1, beta, gen)) for beta in (0.0, 1.0, 2.0, 3.0)]
    assert abs(lags[0]) < 0.03
    assert lags[0] < lags[1] < lags[2] < lags[3] and lags[2] > 0.5


def test_colored_noise_is_seeded():
    a = colored_noise(4, 8, 2, 2.0, torch.Generator().manual_seed(3))
    b = colored_noise(4, 8, 2, 2.0, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_importance_weights():
    w = importance_weights(torch.tensor([0.0, 1.0, 2.0, float("nan"), float("inf")]), 0.5)
    assert w.sum() == pytest.approx(1.0) and w[3] == 0 and w[4] == 0
    assert w[0] > w[1] > w[2] > 0
    # the temperature is relative to the spread: scaling all costs does not change the weights
    w10 = importance_weights(torch.tensor([0.0, 10.0, 20.0, float("nan"), float("inf")]), 0.5)
    assert torch.allclose(w, w10)
    assert torch.allclose(importance_weights(torch.full((4,), 3.0), 0.1), torch.full((4,), 0.25))
    assert torch.allclose(importance_weights(torch.full((2,), float("nan")), 0.1), torch.full((2,), 0.5))


def test_finite_difference_matches_the_analytic_gradient():
    target = torch.tensor([[0.3, -0.7], [0.5, 0.1]])
    calls = []

    def black_box(actions):  # (N, H, A) -> (N,), no autograd
        calls.append(len(actions))
        return torch.as_tensor((actions.detach() - target).pow(2).sum((1, 2)).numpy())

    lo, hi = -torch.ones(2), torch.ones(2)
    x = (torch.rand(5, 2, 2, generator=torch.Generator().manual_seed(0)) * 1.6 - 0.8).requires_grad_(True)
    cost = finite_difference(black_box, lo, hi, eps=0.01)
    c = cost(x)
    (g,) = torch.autograd.grad(c.sum(), x)
    assert torch.allclose(c, (x.detach() - target).pow(2).sum((1, 2)))
    assert torch.allclose(g, 2 * (x.detach() - target), atol=1e-4)
    assert calls == [5 * (1 + 2 * 4)]  # one batched call: N (1 + 2 H A) sequences
    with torch.no_grad():
        cost(x)
    assert calls[-1] == 5  # no gradient asked: the black box alone


def test_finite_difference_is_one_sided_at_a_bound():
    lo, hi = -torch.ones(1), torch.ones(1)
    cost = finite_difference(lambda a: a.detach()[:, 0, 0] * 3.0, lo, hi, eps=0.1)
    x = torch.ones(1, 1, 1, requires_grad=True)
    (g,) = torch.autograd.grad(cost(x).sum(), x)
    assert g.item() == pytest.approx(3.0)
