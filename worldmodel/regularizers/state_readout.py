"""A privileged control: a linear readout of the simulator's state from the latent, trained with the encoder.

``L = R(z) + state_readout_coeff * mean || W z_t + b - s_t ||^2`` over every frame of each window, with the
states ``s_t`` standardised by the batch's own mean and std (each rank's under DDP). The encoder is then
told what the state is, so its latent holds every state variable its frames show (an object's orientation
included, which no self-supervised objective tried on Push-T pixels keeps). Planning still reads only the
observations; training reads the dataset's states. Not a self-supervised recipe: a yardstick for how much
of a pixel row's loss is information its latent drops (compare the same recipe with the term off).
The readout is a training-time module (saved with the training state, not with the model).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from worldmodel.regularizers.base import Regularizer

if TYPE_CHECKING:
    from worldmodel.model import WorldModel


class WithStateReadout(Regularizer):
    """``inner`` plus ``coeff`` times the readout's error on ``extras["states"] (B, T+1, S)``."""

    def __init__(self, inner: Regularizer, model: WorldModel, coeff: float, state_dim: int):
        super().__init__()
        self.inner, self.coeff = inner, coeff
        self.detach_prediction = inner.detach_prediction
        self.readout = nn.Linear(model.cfg.latent_dim, state_dim)

    def forward(self, z_seq: torch.Tensor, extras: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        """``z_seq (B, T+1, D)``, ``extras["states"] (B, T+1, S)`` -> ``(loss, metrics)``."""
        states = extras.get("states")
        if states is None:
            raise ValueError("state_readout_coeff: the batch has no states (the dataset must record them)")
        loss, metrics = self.inner(z_seq, extras)
        s = states.flatten(0, 1).float()
        with torch.no_grad():
            target = (s - s.mean(0)) / s.std(0).clamp_min(1e-6)
        err = (self.readout(z_seq.flatten(0, 1)) - target).pow(2).mean()
        return loss + self.coeff * err, {**metrics, "reg/state_readout": err.item()}

    def target(self, z_seq: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        return self.inner.target(z_seq, obs)

    def after_step(self, model: WorldModel) -> None:
        self.inner.after_step(model)
