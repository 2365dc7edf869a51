"""EMA target encoder with stop-gradient (BYOL, Grill et al. 2020; I-JEPA, Assran et al. 2023).

The prediction targets come from a *target* encoder that receives no gradient and follows
the online encoder by an exponential moving average; the asymmetry (predictor on the online
side, stop-gradient on the target side) is what keeps the embedding from collapsing, with
no explicit term in the loss.  One training step is:

1. forward: the online encoder encodes the observations, the predictor rolls out from the
   first encoding;
2. targets: the target encoder encodes the same observations, under ``no_grad``;
3. loss: squared error between predictions and targets; backward into the online encoder
   and predictor only; optimiser step;
4. momentum update, after the optimiser step (:meth:`EMATarget.after_step`)::

       theta_target <- m * theta_target + (1 - m) * theta_online

   and the normalisation buffers are copied.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from worldmodel.regularizers.base import Regularizer

if TYPE_CHECKING:
    from worldmodel.model import WorldModel


class EMATarget(Regularizer):
    """Holds the target encoder; contributes no loss term of its own."""

    def __init__(self, model: WorldModel):
        super().__init__()
        self.momentum = model.cfg.ema_momentum
        self.latent_norm = model.cfg.latent_norm
        self.target_encoder = copy.deepcopy(model.encoder)
        self.target_encoder.requires_grad_(False)

    @torch.no_grad()
    def target(self, z_seq: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        """Step 2: target-encoder latents ``(B, T+1, D)`` of ``obs (B, T+1, ...)``, without gradient."""
        b, t = obs.shape[:2]
        z = self.target_encoder(obs.reshape(b * t, *obs.shape[2:]))
        if self.latent_norm:
            z = F.layer_norm(z, z.shape[-1:])
        return z.reshape(b, t, -1)

    def forward(self, z_seq: torch.Tensor, extras: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        """No loss term; reports the online/target gap (``extras["target"]``, the step-2 latents)."""
        gap = (z_seq.detach() - extras["target"]).pow(2).mean()
        return z_seq.new_zeros(()), {"reg/ema_gap": gap.item()}

    @torch.no_grad()
    def after_step(self, model: WorldModel) -> None:
        """Step 4: ``theta_target <- m * theta_target + (1 - m) * theta_online``; buffers copied."""
        m = self.momentum
        for p_t, p_o in zip(self.target_encoder.parameters(), model.encoder.parameters(), strict=True):
            p_t.mul_(m).add_(p_o.detach(), alpha=1 - m)
        for b_t, b_o in zip(self.target_encoder.buffers(), model.encoder.buffers(), strict=True):
            b_t.copy_(b_o)
