"""VICReg with inverse dynamics and temporal smoothness (the PLDM / EB-JEPA recipe).

For latents ``Z (N, D)`` (each time step's batch, then averaged over steps):

* variance:   ``mean_d relu(1 - sqrt(Var(Z_d) + eps))``  (hinge at std 1)
* covariance: ``sum_{i != j} C_ij^2 / D`` with ``C`` the covariance matrix of ``Z``
* inverse dynamics: ``|| g(z_t, z_{t+1}) - a_t ||^2`` with ``g`` an MLP head
* smoothness: ``|| z_{t+1} - z_t ||^2`` (mean over dimensions)

Variance and covariance use the global batch under DDP.
"""

from __future__ import annotations

from typing import Any

import torch

from worldmodel.config import ModelConfig
from worldmodel.distributed import gather_batch
from worldmodel.networks import mlp
from worldmodel.regularizers.base import Regularizer


def variance_loss(z: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """Hinge on per-dimension std; ``z (..., N, D)`` -> scalar (mean over leading dims)."""
    std = torch.sqrt(z.var(dim=-2) + eps)
    return torch.relu(1.0 - std).mean()


def covariance_loss(z: torch.Tensor) -> torch.Tensor:
    """Squared off-diagonal covariance / D; ``z (..., N, D)`` -> scalar."""
    n, d = z.shape[-2:]
    zc = z - z.mean(dim=-2, keepdim=True)
    cov = zc.transpose(-1, -2) @ zc / (n - 1)
    off = cov - torch.diag_embed(torch.diagonal(cov, dim1=-2, dim2=-1))
    return (off.pow(2).sum(dim=(-2, -1)) / d).mean()


class VICReg(Regularizer):
    """Variance + covariance + inverse dynamics + temporal smoothness."""

    def __init__(self, cfg: ModelConfig, action_dim: int):
        super().__init__()
        self.cfg = cfg
        self.idm = mlp(2 * cfg.latent_dim, cfg.hidden_dim, action_dim, 1)

    def forward(self, z_seq: torch.Tensor, extras: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        """``z_seq (B, T+1, D)``, ``extras["actions"] (B, T, k*A)`` -> ``(loss, metrics)``."""
        cfg = self.cfg
        per_step = gather_batch(z_seq).transpose(0, 1)  # (T+1, B, D), B global
        var = variance_loss(per_step)
        cov = covariance_loss(per_step)
        pair = torch.cat([z_seq[:, :-1], z_seq[:, 1:]], dim=-1)
        idm = (self.idm(pair) - extras["actions"]).pow(2).mean()
        smooth = (z_seq[:, 1:] - z_seq[:, :-1]).pow(2).mean()
        loss = cfg.var_coeff * var + cfg.cov_coeff * cov + cfg.idm_coeff * idm + cfg.smooth_coeff * smooth
        metrics = {"reg/var": var.item(), "reg/cov": cov.item(), "reg/idm": idm.item(),
                   "reg/smooth": smooth.item()}
        return loss, metrics
