"""Barlow Twins (Zbontar et al., 2021) between consecutive time steps.

The two "views" are the encodings of consecutive observations, ``z_t`` and ``z_{t+1}``
(all pairs of the batch's sub-trajectories, over the global batch under DDP).  Their
cross-covariance ``C = (A - mean A)^T (B - mean B) / N`` (``D x D``) is pushed to the
identity::

    L = sum_i (1 - C_ii)^2 + lambda * sum_{i != j} C_ij^2

The diagonal asks every dimension to vary *slowly* (to stay correlated across a model
step) and the off-diagonal to carry no redundant information: slow-feature analysis with
whitening, the same mechanism as VICReg's smoothness + covariance.

One departure from the paper: the views are centred but not divided by their batch std
(cross-*covariance*, not correlation).  The correlation is scale-free, and next to a
prediction loss on ``z`` that is fatal: the prediction loss shrinks the latent until it is
a constant vector up to tiny, standardised-away variations (measured on TwoRoom pixels:
per-dimension std 0.02 with LayerNorm'd latents, MPC 4/50).  With the covariance, the
identity target also fixes each dimension's variance near 1, as VICReg's variance term does.
"""

from __future__ import annotations

from typing import Any

import torch

from worldmodel.config import ModelConfig
from worldmodel.distributed import gather_batch
from worldmodel.regularizers.base import Regularizer


def cross_covariance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``(D, D)`` cross-covariance of batch-centred ``a, b (N, D)`` (population normalisation)."""
    return (a - a.mean(0)).T @ (b - b.mean(0)) / a.shape[0]


def barlow_loss(a: torch.Tensor, b: torch.Tensor, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(on-diagonal, lambda * off-diagonal)`` terms of the Barlow Twins loss of views ``a, b (N, D)``."""
    c = cross_covariance(a, b)
    diag = torch.diagonal(c)
    on = (1 - diag).pow(2).sum()
    off = c.pow(2).sum() - diag.pow(2).sum()
    return on, lam * off


class BarlowTwins(Regularizer):
    """``coeff * (on + lambda * off)`` of the cross-covariance of ``(z_t, z_{t+1})``."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg

    def forward(self, z_seq: torch.Tensor, extras: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        """``z_seq (B, T+1, D)`` -> ``(loss, metrics)``."""
        d = z_seq.shape[-1]
        a = gather_batch(z_seq[:, :-1].reshape(-1, d))
        b = gather_batch(z_seq[:, 1:].reshape(-1, d))
        on, off = barlow_loss(a, b, self.cfg.barlow_lambda)
        return self.cfg.barlow_coeff * (on + off), {"reg/barlow_on": on.item(), "reg/barlow_off": off.item()}
