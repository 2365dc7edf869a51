"""Barlow Twins (Zbontar et al., 2021) between consecutive time steps.

The two "views" are the encodings of consecutive observations, ``z_t`` and ``z_{t+1}``
(all pairs of the batch's sub-trajectories, over the global batch under DDP).  Each is
standardised per dimension over the batch; their cross-correlation
``C = A^T B / N`` (``D x D``) is pushed to the identity::

    L = sum_i (1 - C_ii)^2 + lambda * sum_{i != j} C_ij^2

The diagonal asks every dimension to vary *slowly* (to stay correlated across a model
step) and the off-diagonal to carry no redundant information: slow-feature analysis with
whitening, the same mechanism as VICReg's smoothness + covariance.  The loss is invariant
to the latent scale, so use it with ``latent_norm: true`` to keep the scale from drifting
under the prediction loss.
"""

from __future__ import annotations

from typing import Any

import torch

from worldmodel.config import ModelConfig
from worldmodel.distributed import gather_batch
from worldmodel.regularizers.base import Regularizer


def cross_correlation(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """``(D, D)`` cross-correlation of per-dimension standardised ``a, b (N, D)``."""
    a = (a - a.mean(0)) / (a.std(0, unbiased=False) + eps)
    b = (b - b.mean(0)) / (b.std(0, unbiased=False) + eps)
    return a.T @ b / a.shape[0]


def barlow_loss(a: torch.Tensor, b: torch.Tensor, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(on-diagonal, off-diagonal)`` terms of the Barlow Twins loss of views ``a, b (N, D)``."""
    c = cross_correlation(a, b)
    diag = torch.diagonal(c)
    on = (1 - diag).pow(2).sum()
    off = c.pow(2).sum() - diag.pow(2).sum()
    return on, lam * off


class BarlowTwins(Regularizer):
    """``coeff * (on + lambda * off)`` of the cross-correlation of ``(z_t, z_{t+1})``."""

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
