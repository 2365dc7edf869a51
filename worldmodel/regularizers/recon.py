"""An auxiliary reconstruction term on top of any JEPA family.

``L = R(z) + recon_coeff * mean || dec(z_0) - norm(o_0) ||^2``: a decoder rebuilds the first
(normalised) observation of each sub-trajectory from its latent, and its error reaches the encoder.
The prediction and anti-collapse terms are satisfied by any features that vary and are predictable;
nothing in them asks for a variable that moves few pixels and is easy to ignore, such as an object's
orientation (measured on Push-T pixels: the block's angle is not decodable from any JEPA latent, though
the same encoder trained to regress it reads it). The reconstruction asks for everything the image shows,
weighted by the pixels it moves. One frame per sequence keeps the decoder's cost to a fraction of a step.
With ``recon_fg_weight`` > 0 the error of each foreground pixel (one that differs from the batch's per-pixel
median frame, the background of a static camera; each rank's batch under DDP) counts ``1 + recon_fg_weight``
times: a small object's shape then weighs as much as its position, which plain pixel error, dominated by the
background, does not ask.
The decoder is a training-time module (saved with the training state, not with the model).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from worldmodel.decoders import build_decoder
from worldmodel.regularizers.base import Regularizer

if TYPE_CHECKING:
    from worldmodel.model import WorldModel


class WithReconstruction(Regularizer):
    """``inner`` plus ``coeff`` times the first frame's reconstruction error; targets and hooks are ``inner``'s."""

    def __init__(self, inner: Regularizer, model: WorldModel, coeff: float):
        super().__init__()
        cfg = model.cfg
        self.inner, self.coeff, self.fg_weight = inner, coeff, cfg.recon_fg_weight
        if self.fg_weight and len(model.obs_shape) != 3:
            raise ValueError(f"recon_fg_weight: needs image observations, got shape {tuple(model.obs_shape)}")
        self.detach_prediction = inner.detach_prediction
        self.decoder = build_decoder(cfg.latent_dim, model.obs_shape, cfg.hidden_dim, cfg.depth, cfg.channels)
        self._normalize = model.normalize  # a bound method, not a submodule: no shared parameters

    def forward(self, z_seq: torch.Tensor, extras: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        """``z_seq (B, T+1, D)``, ``extras["obs"] (B, T+1, ...)`` -> ``(loss, metrics)``."""
        loss, metrics = self.inner(z_seq, extras)
        with torch.no_grad():
            target = self._normalize(extras["obs"][:, 0])
        err = (self.decoder(z_seq[:, 0]) - target).pow(2)
        recon = err.mean() if self.fg_weight == 0 else foreground_weighted(err, target, self.fg_weight)
        return loss + self.coeff * recon, {**metrics, "reg/recon": recon.item()}

    def target(self, z_seq: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        return self.inner.target(z_seq, obs)

    def after_step(self, model: WorldModel) -> None:
        self.inner.after_step(model)


def foreground_weighted(err: torch.Tensor, target: torch.Tensor, fg_weight: float,
                        threshold: float = 1.0) -> torch.Tensor:
    """Weighted mean of ``err (B, C, H, W)``: pixels of ``target (B, C, H, W)`` (standardised) that differ
    from the batch's per-pixel median by more than ``threshold`` in any channel weigh ``1 + fg_weight``."""
    background = target.median(dim=0).values  # (C, H, W)
    fg = (target - background).abs().amax(dim=1, keepdim=True) > threshold  # (B, 1, H, W)
    weight = 1.0 + fg_weight * fg.float()
    return (err.mean(dim=1, keepdim=True) * weight).sum() / weight.sum()
