"""An auxiliary reconstruction term on top of any JEPA family.

``L = R(z) + recon_coeff * mean || dec(z_0) - norm(o_0) ||^2``: a decoder rebuilds the first
(normalised) observation of each sub-trajectory from its latent, and its error reaches the encoder.
The prediction and anti-collapse terms are satisfied by any features that vary and are predictable;
nothing in them asks for a variable that moves few pixels and is easy to ignore, such as an object's
orientation (measured on Push-T pixels: the block's angle is not decodable from any JEPA latent, though
the same encoder trained to regress it reads it). The reconstruction asks for everything the image shows,
weighted by the pixels it moves. One frame per sequence keeps the decoder's cost to a fraction of a step.
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
        self.inner, self.coeff = inner, coeff
        self.detach_prediction = inner.detach_prediction
        self.decoder = build_decoder(cfg.latent_dim, model.obs_shape, cfg.hidden_dim, cfg.depth, cfg.channels)
        self._normalize = model.normalize  # a bound method, not a submodule: no shared parameters

    def forward(self, z_seq: torch.Tensor, extras: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        """``z_seq (B, T+1, D)``, ``extras["obs"] (B, T+1, ...)`` -> ``(loss, metrics)``."""
        loss, metrics = self.inner(z_seq, extras)
        with torch.no_grad():
            target = self._normalize(extras["obs"][:, 0])
        recon = (self.decoder(z_seq[:, 0]) - target).pow(2).mean()
        return loss + self.coeff * recon, {**metrics, "reg/recon": recon.item()}

    def target(self, z_seq: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        return self.inner.target(z_seq, obs)

    def after_step(self, model: WorldModel) -> None:
        self.inner.after_step(model)
