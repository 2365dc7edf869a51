"""The reconstructive baseline: a VAE on observations (Kingma & Welling, 2014).

The encoder outputs a diagonal Gaussian posterior ``q(z | o) = N(mu, diag(exp(logvar)))``;
a decoder reconstructs the *normalised* observation (the encoder's own input) from a
sample ``z = mu + exp(logvar / 2) * eps`` (the mean when not training)::

    L = recon_coeff * mean ||dec(z) - norm(o)||^2 + kl_coeff * mean_d KL(q(z_d | o) || N(0, 1))
    KL = 0.5 * (mu^2 + exp(logvar) - 1 - logvar)

The representation is learned from reconstruction alone: the predictor is trained on the
(detached) posterior means by the same multi-step loss as the JEPA families, as the
"M" on top of the "V" of World Models (Ha & Schmidhuber, 2018), and the planner uses the
mean as the latent.  Letting the prediction loss into the encoder as well collapses the
posterior mean here (measured on TwoRoom pixels: per-dimension std 0.001, position R^2 0.00):
the prediction error and the KL outweigh the few pixels of the agent in the reconstruction.
The decoder is a training-time module (saved with the training state, not with the model).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from worldmodel.decoders import build_decoder
from worldmodel.regularizers.base import Regularizer

if TYPE_CHECKING:
    from worldmodel.model import WorldModel


class VAELoss(Regularizer):
    """Reconstruction + KL; see the module docstring."""

    detach_prediction = True

    def __init__(self, model: WorldModel):
        super().__init__()
        cfg = model.cfg
        self.cfg = cfg
        self.decoder = build_decoder(cfg.latent_dim, model.obs_shape, cfg.hidden_dim, cfg.depth, cfg.channels)
        self._normalize = model.normalize  # a bound method, not a submodule: no shared parameters

    def forward(self, z_seq: torch.Tensor, extras: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        """``z_seq (B, T+1, D)`` (posterior means), ``extras["logvar"]``, ``extras["obs"]`` -> ``(loss, metrics)``."""
        mu = z_seq.reshape(-1, z_seq.shape[-1])
        logvar = extras["logvar"].reshape(mu.shape)
        obs = extras["obs"]
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) if self.training else mu
        with torch.no_grad():
            target = self._normalize(obs.reshape(-1, *obs.shape[2:]))
        recon = (self.decoder(z) - target).pow(2).mean()
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).mean()
        loss = self.cfg.vae_recon_coeff * recon + self.cfg.vae_kl_coeff * kl
        return loss, {"reg/recon": recon.item(), "reg/kl": kl.item()}
