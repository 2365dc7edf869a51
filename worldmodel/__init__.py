"""Latents and their dynamics: encoders, predictors, anti-collapse regularisers, trainer, checkpoints.

``WorldModel`` is imported on first use, so ``worldmodel.config`` (and the ``wm`` config tools)
load without torch.
"""

from typing import Any

from worldmodel.config import ModelConfig, TrainConfig

__all__ = ["ModelConfig", "TrainConfig", "WorldModel"]


def __getattr__(name: str) -> Any:
    if name == "WorldModel":
        from worldmodel.model import WorldModel

        return WorldModel
    raise AttributeError(f"module 'worldmodel' has no attribute {name!r}")
