"""Collapse diagnostics: per-dimension std, effective rank, linear-probe R^2, error by horizon."""

from __future__ import annotations

import torch


def effective_rank(z: torch.Tensor) -> float:
    """``exp(H(p))`` with ``p`` the normalised singular values of centred ``z (N, D)``.

    1 for a rank-one (collapsed) embedding, D for an isotropic one (Roy & Vetterli, 2007).
    """
    s = torch.linalg.svdvals(z - z.mean(0))
    p = s / s.sum().clamp_min(1e-12)
    entropy = -(p * torch.log(p.clamp_min(1e-12))).sum()
    return float(torch.exp(entropy))


def probe_r2(z_train: torch.Tensor, y_train: torch.Tensor, z_test: torch.Tensor, y_test: torch.Tensor,
             ridge: float = 1e-3) -> torch.Tensor:
    """Held-out R^2 per target dimension ``(S,)`` of a ridge regression ``z -> y``.

    ``z_* (N, D)``, ``y_* (N, S)``; the probe is fit on the train split only.
    """
    def aug(z: torch.Tensor) -> torch.Tensor:
        return torch.cat([z, torch.ones(len(z), 1, dtype=z.dtype)], dim=1)

    x, xt = aug(z_train.double()), aug(z_test.double())
    eye = torch.eye(x.shape[1], dtype=x.dtype)
    w = torch.linalg.solve(x.T @ x + ridge * len(x) * eye, x.T @ y_train.double())
    resid = (y_test.double() - xt @ w).pow(2).sum(0)
    total = (y_test.double() - y_test.double().mean(0)).pow(2).sum(0).clamp_min(1e-12)
    return (1 - resid / total).float()


def error_by_horizon(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared latent error per rollout step: ``pred, target (B, H, D)`` -> ``(H,)``."""
    return (pred - target).pow(2).mean(dim=(0, 2))


def collapse_warning(std: torch.Tensor, rank: float, latent_dim: int) -> str | None:
    """A message when the embedding looks collapsed (tiny std or rank), else ``None``."""
    if float(std.mean()) < 1e-2:
        return f"collapse: mean per-dimension std {float(std.mean()):.2e}"
    if rank < max(1.5, 0.05 * latent_dim):
        return f"collapse: effective rank {rank:.2f} of {latent_dim}"
    return None
