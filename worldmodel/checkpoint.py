"""Checkpoints: ``model.safetensors`` + ``config.yaml`` (+ ``train_state.pt``), loaded without pickle.

``config.yaml`` holds the ``model`` section, ``obs_shape`` and ``env_action_dim``: all that
is needed to rebuild the model before the weights are loaded.

A training checkpoint is one unit, switched atomically::

    checkpoints/LATEST                 "step-00000120": the current unit
    checkpoints/step-00000120/         model.safetensors, config.yaml, train_state.pt (+ decoder probe)

:func:`write_checkpoint` writes a temp directory ``.step-N.tmp<pid>`` completely, fsyncs it,
renames it to ``step-N`` and then replaces ``LATEST`` (temp file, fsync, ``os.replace``), so
a kill at any moment leaves ``LATEST`` naming either the old complete unit or the new one;
what a killed save left (temp directories, a unit never switched in, a unit superseded but
not yet removed) goes at the next save or training start (:func:`clean_checkpoints`).
Readers resolve the unit with :func:`checkpoint_dir`; a directory without ``LATEST`` is read
flat (a bare checkpoint from :func:`save_model`, runs of earlier versions, a step directory
itself).  In a flat checkpoint the weights carry their step in the safetensors metadata and
:func:`load_model` refuses weights and config of different steps.  Non-finite weights are
refused at load, naming the tensor.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import safetensors
import safetensors.torch
import torch
import yaml

from envs.files import fsync_dir, remove_dead_temps, remove_stale_temps, temp_path
from worldmodel.config import ModelConfig
from worldmodel.model import WorldModel

WEIGHTS, CONFIG, TRAIN_STATE, LATEST = "model.safetensors", "config.yaml", "train_state.pt", "LATEST"
FLAT_FILES = (WEIGHTS, CONFIG, TRAIN_STATE, "decoder_probe.safetensors", "decoder_probe.yaml")
"""The files of a unit, which a flat checkpoint keeps directly in the checkpoint directory."""
STEP_DIR = re.compile(r"step-\d+(?:-\d+)?")
"""The name of a unit directory: ``step-<step>`` (``-<k>`` when a step is saved again)."""


T = TypeVar("T")


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
        fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def model_files(model: WorldModel, extra: dict[str, Any] | None = None) -> dict[str, bytes]:
    """``{model.safetensors: ..., config.yaml: ...}`` of ``model``; ``extra`` joins the config (its
    ``step`` is also stamped into the weights' metadata)."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    config = {"model": dataclasses.asdict(model.cfg), "obs_shape": list(model.obs_shape),
              "env_action_dim": model.env_action_dim, **(extra or {})}
    metadata = {"step": str(config["step"])} if "step" in config else None
    return {WEIGHTS: safetensors.torch.save(state, metadata=metadata),
            CONFIG: yaml.safe_dump(config, sort_keys=False).encode()}


def save_model(ckpt_dir: str | Path, model: WorldModel, extra: dict[str, Any] | None = None) -> Path:
    """Write a flat (bare) checkpoint, ``model.safetensors`` then ``config.yaml``, into ``ckpt_dir``.

    Training writes units instead (:func:`write_checkpoint`); into a directory that holds one
    (``LATEST``) this refuses, since readers would keep using the unit.
    """
    ckpt_dir = Path(ckpt_dir)
    if (ckpt_dir / LATEST).exists():
        raise CheckpointError(f"{ckpt_dir}: holds a training checkpoint ({LATEST}); save the model elsewhere")
    files = model_files(model, extra)
    atomic_write(ckpt_dir / WEIGHTS, files[WEIGHTS])
    atomic_write(ckpt_dir / CONFIG, files[CONFIG])  # last: commits the step
    return ckpt_dir


# -------------------------------------------------------------------------- one unit, switched atomically

def _current_name(ckpt_dir: Path) -> str | None:
    """The unit ``LATEST`` names, or None without ``LATEST``; a bad pointer is a :class:`CheckpointError`."""
    pointer = ckpt_dir / LATEST
    try:
        name = pointer.read_text().strip()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise CheckpointError(f"{pointer}: unreadable ({(err.strerror or str(err)).lower()})") from None
    if not STEP_DIR.fullmatch(name) or not (ckpt_dir / name).is_dir():
        raise CheckpointError(f"{pointer}: names {name!r}, which is not a step directory in {ckpt_dir}")
    return name


def checkpoint_dir(ckpt_dir: str | Path) -> Path:
    """The directory holding the current checkpoint's files: the unit ``ckpt_dir/LATEST`` names,
    else ``ckpt_dir`` itself (a flat checkpoint)."""
    ckpt_dir = Path(ckpt_dir)
    name = _current_name(ckpt_dir)
    return ckpt_dir / name if name is not None else ckpt_dir


def has_checkpoint(ckpt_dir: str | Path) -> bool:
    """Whether ``ckpt_dir`` holds a model checkpoint (a unit or flat files)."""
    ckpt_dir = Path(ckpt_dir)
    return (ckpt_dir / LATEST).is_file() or (ckpt_dir / WEIGHTS).is_file()


def _write_file(path: Path, data: bytes) -> None:
    """One file of a unit being written (its directory is still a temp one): write and fsync."""
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _unit_name(ckpt_dir: Path, step: int) -> str:
    """A free unit name for ``step``: ``step-<step>``, else ``step-<step>-<k>`` (the step saved again)."""
    name, k = f"step-{step:08d}", 0
    while (ckpt_dir / (name if k == 0 else f"{name}-{k}")).exists():
        k += 1
    return name if k == 0 else f"{name}-{k}"


def _switch(ckpt_dir: Path, name: str) -> None:
    """Point ``LATEST`` at the unit ``name`` (one ``os.replace``: the commit of a save)."""
    atomic_write(ckpt_dir / LATEST, f"{name}\n".encode())


def _remove_superseded(ckpt_dir: Path, keep: str | None) -> list[Path]:
    """Remove unit directories other than ``keep`` and, under a unit, the flat files of an older layout."""
    removed = []
    for path in sorted(ckpt_dir.iterdir()):
        unit = STEP_DIR.fullmatch(path.name) and path.is_dir()
        if unit and path.name != keep:
            shutil.rmtree(path, ignore_errors=True)
        elif keep is not None and path.name in FLAT_FILES:
            path.unlink(missing_ok=True)
        else:
            continue
        removed.append(path)
    return removed


def clean_checkpoints(ckpt_dir: str | Path) -> list[Path]:
    """Remove what killed saves left in ``ckpt_dir``: temp files and directories of writers that no
    longer run, units ``LATEST`` does not name, flat files a unit superseded.  Returns them."""
    ckpt_dir = Path(ckpt_dir)
    if not ckpt_dir.is_dir():
        return []
    removed = remove_dead_temps(ckpt_dir)
    try:
        keep = _current_name(ckpt_dir)
    except CheckpointError:
        return removed  # a damaged pointer: leave the units for the reader's error to name
    return removed + _remove_superseded(ckpt_dir, keep)


def write_directory(path: str | Path, files: dict[str, bytes]) -> Path:
    """Write ``files`` (name -> bytes) as the directory ``path``, all or nothing: a temp directory is
    written, fsynced and renamed to ``path``.  An existing ``path`` is replaced (moved aside first;
    a kill in between leaves no ``path``, never a mixed one).  Returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f"{path.name}.old")
    remove_stale_temps(path)
    remove_stale_temps(aside)
    tmp = temp_path(path)
    tmp.mkdir()
    try:
        for file, data in files.items():
            _write_file(tmp / file, data)
        fsync_dir(tmp)
        if path.exists():
            os.rename(path, temp_path(aside))
        os.rename(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fsync_dir(path.parent)
    shutil.rmtree(temp_path(aside), ignore_errors=True)
    return path


def write_checkpoint(ckpt_dir: str | Path, step: int, files: dict[str, bytes]) -> Path:
    """Write ``files`` (name -> bytes) as the unit of ``step`` and switch ``LATEST`` to it; return its directory.

    A kill at any moment leaves ``LATEST`` naming the previous complete unit or this one.
    """
    ckpt_dir = Path(ckpt_dir)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    clean_checkpoints(ckpt_dir)
    unit = write_directory(ckpt_dir / _unit_name(ckpt_dir, step), files)
    _switch(ckpt_dir, unit.name)
    _remove_superseded(ckpt_dir, unit.name)
    return unit


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


READ_ATTEMPTS = 3
"""Reads of a checkpoint whose unit a concurrent save removed before the read gives up."""


def read_current(ckpt_dir: str | Path, read: Callable[[Path], T]) -> T:
    """``read(unit)`` of the checkpoint's current unit (or of a flat ``ckpt_dir``).

    A unit that a running ``wm train`` removed while it was read (it switched ``LATEST`` to a
    newer one) is read again from the unit ``LATEST`` names then, so what ``read`` returns
    always comes from one unit; any other :class:`CheckpointError` is raised at once.
    """
    for _ in range(READ_ATTEMPTS - 1):
        unit = checkpoint_dir(ckpt_dir)
        try:
            return read(unit)
        except CheckpointError:
            if unit.exists():
                raise
    return read(checkpoint_dir(ckpt_dir))


def _read_config(unit: Path) -> dict[str, Any]:
    """The parsed ``config.yaml`` of one unit (or flat checkpoint) directory."""
    path = unit / CONFIG
    try:
        config = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise CheckpointError(f"{path}: unreadable checkpoint config ({err})") from None
    if not isinstance(config, dict) or not {"model", "obs_shape", "env_action_dim"} <= config.keys():
        raise CheckpointError(f"{path}: needs keys 'model', 'obs_shape', 'env_action_dim'")
    return config


def read_checkpoint_config(ckpt_dir: str | Path) -> dict[str, Any]:
    """The parsed ``config.yaml`` of a checkpoint (of its current unit)."""
    return read_current(ckpt_dir, _read_config)


def load_model(ckpt_dir: str | Path, device: str | torch.device = "cpu") -> WorldModel:
    """Rebuild the model from ``config.yaml`` and load ``model.safetensors`` (no pickle) of the
    checkpoint's current unit (or of a flat checkpoint); both from one unit (:func:`read_current`)."""
    return read_current(ckpt_dir, lambda unit: _load_unit(unit, device))


def _load_unit(ckpt_dir: Path, device: str | torch.device) -> WorldModel:
    """:func:`load_model` of one unit (or flat checkpoint) directory."""
    config = _read_config(ckpt_dir)
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
