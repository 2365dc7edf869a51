"""The regulariser interface and its factory.

A regulariser is an ``nn.Module`` called as ``reg(z_seq, extras) -> (loss (), metrics)``:

* ``z_seq (B, T+1, D)``: the encodings of a sub-trajectory's observations;
* ``extras``: ``actions (B, T, k*A)``, ``pred (B, T, D)`` (the predictor's outputs),
  ``obs (B, T+1, *obs_shape)``, ``states (B, T+1, S)`` (the dataset's, or None), ``logvar (B, T+1, D)``
  (variational encoders only) and ``step`` (the optimisation step, an int).

Two hooks let a family change the prediction target or update state after the optimiser:
``target(z_seq, obs)`` (default: ``z_seq`` itself, gradients flowing into both branches)
and ``after_step(model)`` (default: nothing).  Statistics over the batch are taken over the
*global* batch under DDP (see :mod:`worldmodel.distributed`), so that N ranks train like
one process on their concatenated batches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

if TYPE_CHECKING:
    from worldmodel.model import WorldModel


class Regularizer(nn.Module):
    """Base class: ``forward(z_seq (B, T+1, D), extras) -> (loss (), metrics)``."""

    detach_prediction: bool = False
    """True: the prediction loss trains the predictor only (the encoder learns from the regulariser)."""

    def forward(self, z_seq: torch.Tensor, extras: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        raise NotImplementedError

    def target(self, z_seq: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        """Prediction targets ``(B, T+1, D)`` for observations ``obs (B, T+1, ...)``; default ``z_seq``."""
        return z_seq

    def after_step(self, model: WorldModel) -> None:
        """Called after every optimiser step (e.g. a momentum update)."""


def build_regularizer(model: WorldModel, state_dim: int | None = None) -> Regularizer:
    """The regulariser named by ``model.cfg.regularizer`` for ``model``, with the auxiliary reconstruction
    (:mod:`worldmodel.regularizers.recon`) where ``model.cfg.recon_coeff > 0`` and the privileged state
    readout (:mod:`worldmodel.regularizers.state_readout`, ``state_dim`` outputs) where
    ``model.cfg.state_readout_coeff > 0``."""
    reg = _family(model)
    if model.cfg.recon_coeff > 0:
        from worldmodel.regularizers.recon import WithReconstruction

        reg = WithReconstruction(reg, model, model.cfg.recon_coeff)
    if model.cfg.state_readout_coeff > 0:
        from worldmodel.regularizers.state_readout import WithStateReadout

        if not state_dim:
            raise ValueError("state_readout_coeff: needs the dataset's state size")
        reg = WithStateReadout(reg, model, model.cfg.state_readout_coeff, state_dim)
    return reg


def _family(model: WorldModel) -> Regularizer:
    """The anti-collapse family named by ``model.cfg.regularizer``."""
    cfg = model.cfg
    if cfg.regularizer == "vicreg":
        from worldmodel.regularizers.vicreg import VICReg

        return VICReg(cfg, model.action_dim)
    if cfg.regularizer == "sigreg":
        from worldmodel.regularizers.sigreg import SIGReg

        return SIGReg(cfg)
    if cfg.regularizer == "barlow":
        from worldmodel.regularizers.barlow import BarlowTwins

        return BarlowTwins(cfg)
    if cfg.regularizer == "infonce":
        from worldmodel.regularizers.infonce import InfoNCE

        return InfoNCE(cfg)
    if cfg.regularizer == "ema":
        from worldmodel.regularizers.ema import EMATarget

        return EMATarget(model)
    if cfg.regularizer == "vae":
        from worldmodel.regularizers.vae import VAELoss

        return VAELoss(model)
    raise ValueError(f"regularizer: unknown {cfg.regularizer!r}")
