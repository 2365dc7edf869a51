"""Latents and their dynamics: encoders, predictors, anti-collapse regularisers, trainer, checkpoints."""

from worldmodel.config import ModelConfig, TrainConfig
from worldmodel.model import WorldModel

__all__ = ["ModelConfig", "TrainConfig", "WorldModel"]
