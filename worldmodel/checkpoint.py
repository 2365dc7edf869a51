"""Checkpoints: ``model.safetensors`` + ``config.yaml``, written atomically, loaded without pickle.

``config.yaml`` holds the ``model`` section, ``obs_shape`` and ``env_action_dim``: all that
is needed to rebuild the model before the weights are loaded.

One unit: the weights carry their training step in the safetensors metadata and are written
first; ``config.yaml``, written last, names the same step.  A write killed between the two
leaves weights newer than their config, which :func:`load_model` refuses (naming both steps);
a write killed inside the weights file leaves the previous pair intact.  Non-finite weights
are refused at load, naming the tensor.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import safetensors
import safetensors.torch
import torch
import yaml

from envs.files import remove_stale_temps, temp_path
from worldmodel.config import ModelConfig
from worldmodel.model import WorldModel

WEIGHTS, CONFIG = "model.safetensors", "config.yaml"


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt or does not match its config; the message names the file."""


def atomic_write(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file, fsync and ``os.replace``; stale temps of ``path`` go first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    tmp = temp_path(path)
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
    metadata = {"step": str(config["step"])} if "step" in config else None
    atomic_write(ckpt_dir / WEIGHTS, safetensors.torch.save(state, metadata=metadata))
    atomic_write(ckpt_dir / CONFIG, yaml.safe_dump(config, sort_keys=False).encode())  # last: commits the step
    return ckpt_dir


def check_finite(tensors: dict[str, torch.Tensor], where: str | Path) -> None:
    """Raise :class:`CheckpointError` naming the first tensor with a NaN or infinite value."""
    for name, value in tensors.items():
        if torch.is_tensor(value) and value.is_floating_point() and not torch.isfinite(value).all():
            raise CheckpointError(f"{where}: non-finite values in tensor {name!r} (refusing a diverged or "
                                  f"corrupt checkpoint)")


def read_weights(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors and the metadata of a safetensors file (no pickle)."""
    try:
        with safetensors.safe_open(str(path), framework="pt", device="cpu") as fh:
            return {k: fh.get_tensor(k) for k in fh.keys()}, dict(fh.metadata() or {})  # noqa: SIM118
    except (OSError, RuntimeError, ValueError, safetensors.SafetensorError) as err:
        raise CheckpointError(f"{path}: cannot load weights ({str(err).splitlines()[0]})") from None


def _check_one_step(ckpt_dir: Path, config: dict[str, Any], metadata: dict[str, str]) -> None:
    """Weights and config of the same step (older checkpoints without step stamps pass)."""
    if "step" not in metadata or "step" not in config:
        return
    if str(config["step"]) != metadata["step"]:
        raise CheckpointError(f"{ckpt_dir}: {WEIGHTS} is step {metadata['step']} but {CONFIG} says step "
                              f"{config['step']} (a checkpoint write was interrupted; `wm train --resume` "
                              f"rewrites both)")


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
    state, metadata = read_weights(path)
    _check_one_step(ckpt_dir, config, metadata)
    check_finite(state, path)
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, ValueError) as err:
        raise CheckpointError(f"{path}: cannot load weights ({str(err).splitlines()[0]})") from None
    return model.to(device).eval()
