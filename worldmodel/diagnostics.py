"""Collapse diagnostics: per-dimension std, effective rank, linear-probe R^2, error by horizon."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from worldmodel.losses import predict_sequence

if TYPE_CHECKING:
    from worldmodel.data import WindowSampler
    from worldmodel.model import WorldModel


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


@torch.no_grad()
def encode_chunked(model: WorldModel, obs: torch.Tensor, chunk: int = 512) -> torch.Tensor:
    """``obs (N, *obs_shape)`` -> ``z (N, D)``, encoded ``chunk`` at a time (bounded memory for images)."""
    return torch.cat([model.encode(obs[i:i + chunk]) for i in range(0, len(obs), chunk)])


@dataclass(frozen=True)
class DiagnosticWindows:
    """The encoded windows the diagnostics score: train latents ``z_tr (N, D)`` and states ``s_tr (N, S)``,
    held-out latent sequences ``z_ho (M, T+1, D)``, their actions ``a_ho (M, T, k*A)`` and first states
    ``s_ho (M, S)``. While the encoder is frozen (the predictor phase) they do not change."""

    z_tr: torch.Tensor
    s_tr: torch.Tensor
    z_ho: torch.Tensor
    a_ho: torch.Tensor
    s_ho: torch.Tensor


@torch.no_grad()
def encode_windows(model: WorldModel, train: WindowSampler, holdout: WindowSampler, n: int = 2048
                   ) -> DiagnosticWindows:
    """Encode the diagnostics' windows: ``n`` train windows' first frames and up to ``n`` held-out windows.

    Fixed seed: the same windows at every call, and no training RNG is consumed.
    """
    model.eval()
    gen = torch.Generator().manual_seed(12345)
    tr = train.sample(n, gen)
    ho = holdout.sample(min(n, 4 * len(holdout)), gen)
    z_tr = encode_chunked(model, tr["obs"][:, 0])
    b, t1 = ho["obs"].shape[:2]
    z_ho = encode_chunked(model, ho["obs"].reshape(b * t1, *ho["obs"].shape[2:])).reshape(b, t1, -1)
    return DiagnosticWindows(z_tr, tr["states"][:, 0], z_ho, ho["actions"], ho["states"][:, 0])


@torch.no_grad()
def latent_diagnostics(model: WorldModel, w: DiagnosticWindows, mode: str) -> tuple[dict[str, float], torch.Tensor]:
    """Std, effective rank, probe R^2 (train -> held-out windows) and latent error by horizon of the windows
    ``w`` (:func:`encode_windows` of ``model``'s current encoder).

    Returns the metrics and the per-dimension std ``(D,)`` of train latents.
    """
    model.eval()
    pred = predict_sequence(model, w.z_ho, w.a_ho, mode)
    std = w.z_tr.std(0)
    rank = effective_rank(w.z_tr.cpu())
    r2 = probe_r2(w.z_tr.cpu(), w.s_tr.cpu(), w.z_ho[:, 0].cpu(), w.s_ho.cpu())
    err = error_by_horizon(pred, w.z_ho[:, 1:])
    m = {"collapse/std_mean": float(std.mean()), "collapse/std_min": float(std.min()),
         "collapse/eff_rank": rank, "probe/r2_mean": float(r2.mean())}
    m.update({f"probe/r2_dim{i}": float(v) for i, v in enumerate(r2)})
    m.update({f"pred/err_h{i + 1}": float(v) for i, v in enumerate(err)})
    m["pred/rel_err_last"] = float(err[-1] / w.z_ho.var(dim=(0, 1)).mean().clamp_min(1e-12))
    return m, std
