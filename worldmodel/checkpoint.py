"""Checkpoints: ``model.safetensors`` + ``config.yaml``, written atomically, loaded without pickle.

``config.yaml`` holds the ``model`` section, ``obs_shape`` and ``env_action_dim``: all that
is needed to rebuild the model before the weights are loaded.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
import yaml

from worldmodel.config import ModelConfig
from worldmodel.model import WorldModel

WEIGHTS, CONFIG = "model.safetensors", "config.yaml"


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt or does not match its config; the message names the file."""


def atomic_write(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file, fsync and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_model(ckpt_dir: str | Path, model: WorldModel, extra: dict[str, Any] | None = None) -> Path:
    """Write ``model.safetensors`` and ``config.yaml`` into ``ckpt_dir``; return the dir."""
    ckpt_dir = Path(ckpt_dir)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    config = {"model": dataclasses.asdict(model.cfg), "obs_shape": list(model.obs_shape),
              "env_action_dim": model.env_action_dim, **(extra or {})}
    atomic_write(ckpt_dir / CONFIG, yaml.safe_dump(config, sort_keys=False).encode())
    atomic_write(ckpt_dir / WEIGHTS, safetensors.torch.save(state))
    return ckpt_dir


def read_checkpoint_config(ckpt_dir: str | Path) -> dict[str, Any]:
    """The parsed ``config.yaml`` of a checkpoint."""
    path = Path(ckpt_dir) / CONFIG
    try:
        config = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise CheckpointError(f"{path}: unreadable checkpoint config ({err})") from None
    if not isinstance(config, dict) or not {"model", "obs_shape", "env_action_dim"} <= config.keys():
        raise CheckpointError(f"{path}: needs keys 'model', 'obs_shape', 'env_action_dim'")
    return config


def load_model(ckpt_dir: str | Path, device: str | torch.device = "cpu") -> WorldModel:
    """Rebuild the model from ``config.yaml`` and load ``model.safetensors`` (no pickle)."""
    ckpt_dir = Path(ckpt_dir)
    config = read_checkpoint_config(ckpt_dir)
    try:
        cfg = ModelConfig(**config["model"])
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{ckpt_dir / CONFIG}: bad model config ({err})") from None
    model = WorldModel(cfg, tuple(config["obs_shape"]), int(config["env_action_dim"]))
    path = ckpt_dir / WEIGHTS
    try:
        state = safetensors.torch.load(path.read_bytes())
        model.load_state_dict(state, strict=True)
    except (OSError, RuntimeError, ValueError, safetensors.SafetensorError) as err:
        raise CheckpointError(f"{path}: cannot load weights ({str(err).splitlines()[0]})") from None
    return model.to(device).eval()
