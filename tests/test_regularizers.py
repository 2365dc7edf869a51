"""Anti-collapse terms on hand-computed inputs."""

from __future__ import annotations

import math

import torch

from worldmodel.config import ModelConfig
from worldmodel.regularizers.vicreg import VICReg, covariance_loss, variance_loss


def test_variance_loss_hand_computed():
    # two dims over 4 samples: std of [0,0,0,0] is 0 -> hinge 1; std of [-2,2,-2,2] is > 1 -> 0
    z = torch.tensor([[0.0, -2.0], [0.0, 2.0], [0.0, -2.0], [0.0, 2.0]])
    eps = 1e-4
    expected = (1 - math.sqrt(eps)) / 2
    assert torch.isclose(variance_loss(z, eps), torch.tensor(expected), atol=1e-6)


def test_variance_loss_zero_for_wide_and_one_for_constant():
    assert variance_loss(torch.randn(1000, 8, generator=torch.Generator().manual_seed(0)) * 3) == 0
    assert torch.isclose(variance_loss(torch.ones(50, 8), eps=0.0), torch.tensor(1.0))


def test_covariance_loss_hand_computed():
    # perfectly correlated pair: cov = [[v, v], [v, v]] with v = var (unbiased)
    x = torch.tensor([1.0, 2.0, 3.0, 4.0])
    z = torch.stack([x, x], dim=1)
    v = x.var().item()
    expected = 2 * v**2 / 2  # two off-diagonal entries, divided by D = 2
    assert torch.isclose(covariance_loss(z), torch.tensor(expected))
    # independent columns (orthogonal, centred): no off-diagonal covariance
    z2 = torch.tensor([[1.0, 1.0], [-1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]])
    assert torch.isclose(covariance_loss(z2), torch.tensor(0.0))


def test_vicreg_terms_and_idm_gradient():
    cfg = ModelConfig(latent_dim=4, hidden_dim=16)
    reg = VICReg(cfg, action_dim=2)
    z = torch.randn(8, 5, 4, requires_grad=True)
    actions = torch.randn(8, 4, 2)
    loss, metrics = reg(z, {"actions": actions})
    loss.backward()
    assert {"reg/var", "reg/cov", "reg/idm", "reg/smooth"} <= metrics.keys()
    smooth = (z[:, 1:] - z[:, :-1]).pow(2).mean().item()
    assert math.isclose(metrics["reg/smooth"], smooth, rel_tol=1e-5)
    assert z.grad is not None and torch.isfinite(z.grad).all()


def test_collapsed_embedding_is_penalised_more_than_spread_one():
    cfg = ModelConfig(latent_dim=4, hidden_dim=16, idm_coeff=0.0, smooth_coeff=0.0)
    reg = VICReg(cfg, action_dim=2)
    actions = torch.zeros(64, 2, 2)
    collapsed, _ = reg(torch.zeros(64, 3, 4), {"actions": actions})
    spread, _ = reg(torch.randn(64, 3, 4, generator=torch.Generator().manual_seed(1)) * 2,
                    {"actions": actions})
    assert collapsed > 0.9 and spread < 0.2
