"""SIGReg: Sketched Isotropic Gaussian Regularisation (LeJEPA, Balestriero & LeCun 2025).

Push the embedding distribution towards the isotropic Gaussian ``N(0, I)`` by testing its
one-dimensional projections (Cramér-Wold: all 1-D marginals Gaussian <=> jointly Gaussian):

1. draw ``M`` directions ``u_m`` uniformly on the unit sphere, afresh every step, from a
   generator seeded by the step (so every DDP rank draws the same ones);
2. project: ``x_{n,m} = <z_n, u_m>``;
3. the Epps-Pulley statistic of each projection against ``N(0, 1)``::

       EP_m = N * integral |phi_hat_m(t) - phi(t)|^2 w(t) dt,
       phi_hat_m(t) = mean_n exp(i t x_{n,m}),  phi(t) = w(t) = exp(-t^2 / 2)

   with ``|phi_hat - phi|^2 = (mean cos(t x) - phi)^2 + (mean sin(t x))^2``; the integrand
   is even in ``t``, so it is integrated on ``[0, t_max]`` by the trapezoid rule with
   doubled weights.  Under DDP the means over ``n`` are all-reduced (with autograd) before
   squaring, so the statistic is that of the global batch, and ``N`` is the global size;
4. average over the ``M`` directions (and over the time steps, each a batch of its own).

For samples of ``N(0, 1)`` the statistic's expectation is
``integral w(t) (1 - phi(t)^2) dt`` (about 1.06 with the defaults) whatever ``N``; for a
collapsed (constant) embedding it grows like ``N``.
"""

from __future__ import annotations

from typing import Any

import torch

from worldmodel.config import ModelConfig
from worldmodel.distributed import all_reduce_mean, world_size
from worldmodel.regularizers.base import Regularizer


def quadrature(t_max: float, knots: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Knots ``t (K,)`` on ``[0, t_max]`` and trapezoid weights ``(K,)`` that integrate an even function on
    ``[-t_max, t_max]`` (doubled, halved at the ends)."""
    t = torch.linspace(0.0, t_max, knots)
    dt = t_max / (knots - 1)
    weights = torch.full((knots,), 2 * dt)
    weights[0] = weights[-1] = dt
    return t, weights


def epps_pulley(x: torch.Tensor, t: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Epps-Pulley statistic against ``N(0, 1)`` of each column: ``x (..., N, M)`` -> ``(..., M)``.

    The characteristic-function means are averaged over DDP ranks (global batch).
    """
    phi = torch.exp(-0.5 * t * t)  # (K,)
    xt = x.unsqueeze(-1) * t  # (..., N, M, K)
    cos_mean = all_reduce_mean(xt.cos().mean(dim=-3))  # (..., M, K)
    sin_mean = all_reduce_mean(xt.sin().mean(dim=-3))
    err = (cos_mean - phi).square() + sin_mean.square()
    n_global = x.shape[-2] * world_size()
    return n_global * (err @ (weights * phi))


def expected_gaussian_statistic(t: torch.Tensor, weights: torch.Tensor) -> float:
    """``E[EP]`` for Gaussian samples: ``integral w(t) (1 - phi(t)^2) dt`` (the same quadrature)."""
    phi = torch.exp(-0.5 * t * t)
    return float((weights * phi * (1 - phi * phi)).sum())


def random_directions(dim: int, count: int, seed: int, device: torch.device) -> torch.Tensor:
    """``count`` unit vectors in ``R^dim`` as columns ``(dim, count)``, a function of ``seed`` only."""
    gen = torch.Generator().manual_seed(seed)
    u = torch.randn(dim, count, generator=gen)
    return (u / u.norm(dim=0, keepdim=True)).to(device)


class SIGReg(Regularizer):
    """``coeff * mean_{t, m} EP_m(z_t)``: the sliced Epps-Pulley statistic of each time step's batch."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        t, w = quadrature(cfg.sigreg_tmax, cfg.sigreg_knots)
        self.register_buffer("t", t, persistent=False)
        self.register_buffer("weights", w, persistent=False)

    def statistic(self, z: torch.Tensor, step: int) -> torch.Tensor:
        """Mean sliced statistic of ``z (..., N, D)`` with the directions of ``step``."""
        u = random_directions(z.shape[-1], self.cfg.sigreg_slices, 1_000_003 * (step + 1), z.device)
        return epps_pulley(z @ u, self.t, self.weights).mean()

    def forward(self, z_seq: torch.Tensor, extras: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        """``z_seq (B, T+1, D)``, ``extras["step"]`` -> ``(loss, metrics)``."""
        stat = self.statistic(z_seq.transpose(0, 1), int(extras.get("step", 0)))  # batches per time step
        return self.cfg.sigreg_coeff * stat, {"reg/sigreg": stat.item()}
