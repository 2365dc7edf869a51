"""The dataset file: one HDF5 file of episodes, validated on read.

Schema (version 1).  Episodes are stored back to back; episode ``i`` has ``T_i`` actions
and ``T_i + 1`` observations and states.

=====================  ===========================  ==================================
dataset                shape                        dtype
=====================  ===========================  ==================================
``obs``                ``(sum(T_i + 1), *obs_shape)``  float32 (state) or uint8 (pixels)
``states``             ``(sum(T_i + 1), S)``        float32: the true low-dim state
``actions``            ``(sum(T_i), A)``            float32
``episode_lengths``    ``(E,)``                     int64: ``T_i``
=====================  ===========================  ==================================

Root attributes: ``schema_version``, ``env_id``, ``obs_type``, ``env_kwargs`` (JSON),
``action_low``, ``action_high``, ``policy``, ``seed``, ``code_version``, ``created``, and
``seed_ranges`` ``(R, 2)`` int: the reset seeds of the episodes, ``[first, count]`` per
collection (``wm collect --append`` adds a row; empty when unknown, as for Minari imports;
files written before it had only ``seed``: :func:`dataset_seed_ranges`).

Storage: every field is chunked along the first axis (about 1 MiB per chunk) and
resizable (appends); uint8 images are gzip-compressed; every chunk carries a ``fletcher32``
checksum, so a flipped bit is a :class:`DatasetError` on read, not silently wrong data.

:func:`read_dataset` checks every field's presence, dtype, shape and finiteness and raises
:class:`DatasetError` naming the file and the field.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from envs.files import remove_stale_temps, temp_path

SCHEMA_VERSION = 1
REQUIRED_ATTRS = ("schema_version", "env_id", "obs_type", "action_low", "action_high")
FIELDS = ("obs", "states", "actions", "episode_lengths")  # episode_lengths last: it commits an append


class DatasetError(ValueError):
    """A dataset file is missing, truncated or inconsistent; the message names the field."""


@dataclass
class Episodes:
    """Episodes in memory, concatenated as in the file (see the module docstring)."""

    obs: np.ndarray
    states: np.ndarray
    actions: np.ndarray
    episode_lengths: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def num_episodes(self) -> int:
        return len(self.episode_lengths)

    @property
    def num_steps(self) -> int:
        return int(self.episode_lengths.sum())

    def obs_offsets(self) -> np.ndarray:
        """Index of each episode's first observation ``(E,)``."""
        return np.concatenate([[0], np.cumsum(self.episode_lengths + 1)[:-1]]).astype(np.int64)

    def action_offsets(self) -> np.ndarray:
        """Index of each episode's first action ``(E,)``."""
        return np.concatenate([[0], np.cumsum(self.episode_lengths)[:-1]]).astype(np.int64)

    def episode(self, i: int) -> dict[str, np.ndarray]:
        """Views of episode ``i``: ``obs (T+1, ...)``, ``states (T+1, S)``, ``actions (T, A)``."""
        o, a, t = self.obs_offsets()[i], self.action_offsets()[i], int(self.episode_lengths[i])
        return {"obs": self.obs[o:o + t + 1], "states": self.states[o:o + t + 1],
                "actions": self.actions[a:a + t]}


def concat_episodes(eps: list[dict[str, np.ndarray]], meta: dict[str, Any]) -> Episodes:
    """Stack per-episode dicts (``obs``, ``states``, ``actions``) into :class:`Episodes`."""
    return Episodes(
        obs=np.concatenate([e["obs"] for e in eps]),
        states=np.concatenate([e["states"] for e in eps]).astype(np.float32),
        actions=np.concatenate([e["actions"] for e in eps]).astype(np.float32),
        episode_lengths=np.array([len(e["actions"]) for e in eps], dtype=np.int64),
        meta=dict(meta),
    )


def _create(f: h5py.File, name: str, arr: np.ndarray) -> None:
    chunk_rows = max(1, min(len(arr), (1 << 20) // max(1, arr[0].nbytes if len(arr) else 1)))
    compression = "gzip" if arr.dtype == np.uint8 else None
    f.create_dataset(name, data=arr, maxshape=(None, *arr.shape[1:]), chunks=(chunk_rows, *arr.shape[1:]),
                     compression=compression, fletcher32=True)


def write_dataset(path: str | Path, data: Episodes, overwrite: bool = False) -> None:
    """Write ``data`` to ``path`` atomically (temp file, fsync, ``os.replace``).

    Refuses an existing ``path`` unless ``overwrite``; use :func:`append_dataset` to add.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: dataset exists (append or choose another path)")
    _validate_arrays(path, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)  # what a killed write left behind
    tmp = temp_path(path)
    try:
        with h5py.File(tmp, "w") as f:
            for name in FIELDS:
                _create(f, name, getattr(data, name))
            meta = {"schema_version": SCHEMA_VERSION, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                    **data.meta}
            for key, value in meta.items():
                f.attrs[key] = json.dumps(value) if isinstance(value, dict) else value
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def append_dataset(path: str | Path, data: Episodes) -> None:
    """Append the episodes of ``data`` to an existing, valid dataset of the same env.

    ``episode_lengths`` is extended last, and a failure part-way shrinks every field back,
    so the file never holds rows that its episode table does not account for.
    """
    existing = read_dataset(path)
    for key in ("env_id", "obs_type"):
        if existing.meta.get(key) != data.meta.get(key):
            raise DatasetError(f"{path}: attribute {key!r} differs "
                               f"({existing.meta.get(key)!r} vs {data.meta.get(key)!r})")
    if existing.obs.shape[1:] != data.obs.shape[1:]:
        raise DatasetError(f"{path}: field 'obs' has shape {existing.obs.shape[1:]}, new episodes "
                           f"{data.obs.shape[1:]}")
    _validate_arrays(Path(path), data)
    ranges = seed_ranges_of(existing.meta, len(existing.episode_lengths)) + \
        seed_ranges_of(data.meta, len(data.episode_lengths))
    with h5py.File(path, "a") as f:
        sizes = {name: f[name].shape[0] for name in FIELDS}
        try:
            for name in FIELDS:
                new, ds = getattr(data, name), f[name]
                ds.resize(sizes[name] + len(new), axis=0)
                ds[sizes[name]:] = new
            f.attrs["seed_ranges"] = np.asarray(ranges, np.int64).reshape(-1, 2)
        except BaseException:
            for name, size in sizes.items():
                f[name].resize(size, axis=0)
            raise


def seed_ranges_of(meta: dict[str, Any], episodes: int) -> list[list[int]]:
    """``[first, count]`` rows of the reset seeds behind a dataset's ``meta`` and its ``episodes``.

    ``seed_ranges`` when recorded (empty: unknown); otherwise, for files that predate it,
    ``episodes`` consecutive seeds from ``seed``; nothing without either.
    """
    if "seed_ranges" in meta:
        return [[int(a), int(n)] for a, n in np.asarray(meta["seed_ranges"], np.int64).reshape(-1, 2)]
    if "seed" in meta:
        return [[int(meta["seed"]), int(episodes)]]
    return []


def dataset_seed_ranges(path: str | Path) -> list[list[int]]:
    """The reset seeds of a dataset file's episodes, ``[first, count]`` rows (:func:`seed_ranges_of`),
    read from its attributes only (no arrays are loaded)."""
    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            meta = _read_meta(path, f)
            episodes = int(f["episode_lengths"].shape[0]) if "episode_lengths" in f else 0
    except DatasetError:
        raise
    except (OSError, KeyError, ValueError) as err:
        raise DatasetError(f"{path}: not a readable HDF5 dataset ({err})") from None
    return seed_ranges_of(meta, episodes)


def read_dataset(path: str | Path) -> Episodes:
    """Load and validate a dataset file; raise :class:`DatasetError` naming the bad field."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such dataset file")
    try:
        with h5py.File(path, "r") as f:
            meta = _read_meta(path, f)
            arrays = {}
            for name in FIELDS:
                if name not in f:
                    raise DatasetError(f"{path}: missing field {name!r}")
                try:
                    arrays[name] = f[name][()]
                except (OSError, KeyError, ValueError) as err:
                    why = "checksum mismatch: the file is corrupt" if _checksum_failed(f[name], err) else str(err)
                    raise DatasetError(f"{path}: field {name!r} is unreadable ({why})") from None
    except DatasetError:
        raise
    except (OSError, KeyError, ValueError) as err:
        raise DatasetError(f"{path}: not a readable HDF5 dataset ({err})") from None
    data = Episodes(**arrays, meta=meta)
    _validate_arrays(path, data)
    return data


def _checksum_failed(ds: h5py.Dataset, err: Exception) -> bool:
    """A read of a ``fletcher32``-protected field failed in its filter pipeline (a flipped bit)."""
    return bool(ds.fletcher32) and "filter" in str(err).lower()


def _read_meta(path: Path, f: h5py.File) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for key, value in f.attrs.items():
        if isinstance(value, np.ndarray):
            value = value.tolist()
        elif isinstance(value, np.generic):
            value = value.item()
        if key == "env_kwargs" and isinstance(value, str):
            value = json.loads(value)
        meta[key] = value
    for key in REQUIRED_ATTRS:
        if key not in meta:
            raise DatasetError(f"{path}: missing attribute {key!r}")
    if meta["schema_version"] != SCHEMA_VERSION:
        raise DatasetError(f"{path}: attribute 'schema_version' is {meta['schema_version']}, "
                           f"expected {SCHEMA_VERSION}")
    return meta


def _validate_arrays(path: Path, d: Episodes) -> None:
    def bad(name: str, why: str) -> DatasetError:
        return DatasetError(f"{path}: field {name!r} {why}")

    lengths = d.episode_lengths
    if lengths.ndim != 1 or lengths.dtype.kind not in "iu" or len(lengths) == 0 or lengths.min() < 1:
        raise bad("episode_lengths", "must be a non-empty 1-D integer array of positive lengths")
    n_obs, n_act = int(lengths.sum() + len(lengths)), int(lengths.sum())
    expected = {"obs": n_obs, "states": n_obs, "actions": n_act}
    for name, rows in expected.items():
        arr = getattr(d, name)
        if arr.shape[0] != rows:
            raise bad(name, f"has {arr.shape[0]} rows, episode_lengths imply {rows} (truncated?)")
    if d.actions.ndim != 2 or d.actions.dtype != np.float32:
        raise bad("actions", f"must be float32 (N, A), got {d.actions.dtype} {d.actions.shape}")
    if d.states.ndim != 2 or d.states.dtype != np.float32:
        raise bad("states", f"must be float32 (N, S), got {d.states.dtype} {d.states.shape}")
    if d.obs.dtype not in (np.float32, np.uint8):
        raise bad("obs", f"must be float32 or uint8, got {d.obs.dtype}")
    obs_type = d.meta.get("obs_type")
    if obs_type == "pixels" and (d.obs.dtype != np.uint8 or d.obs.ndim != 4 or d.obs.shape[-1] != 3):
        raise bad("obs", f"must be uint8 (N, H, W, 3) for pixel observations, got {d.obs.dtype} {d.obs.shape}")
    if obs_type == "state" and (d.obs.dtype != np.float32 or d.obs.ndim != 2):
        raise bad("obs", f"must be float32 (N, D) for state observations, got {d.obs.dtype} {d.obs.shape}")
    for name in ("obs", "states", "actions"):
        arr = getattr(d, name)
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            row = int(np.argwhere(~np.isfinite(arr.reshape(len(arr), -1)))[0, 0])
            raise bad(name, f"has non-finite values (first at row {row})")
    low = d.meta.get("action_low")
    high = d.meta.get("action_high")
    if low is not None and high is not None:
        if np.size(low) != d.actions.shape[1] or np.size(high) != d.actions.shape[1]:
            raise bad("actions", f"does not match the file: action bounds have {np.size(low)} dimensions, "
                                 f"actions {d.actions.shape[1]}")
        eps = 1e-5
        if (d.actions < np.asarray(low) - eps).any() or (d.actions > np.asarray(high) + eps).any():
            raise bad("actions", "has values outside the action bounds")


def state_scale(path: str | Path) -> np.ndarray:
    """Per-dimension std ``(S,)`` of a dataset's true states (floored at 1e-3), reading that field only."""
    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            states = f["states"][()]
    except (OSError, KeyError, ValueError) as err:
        raise DatasetError(f"{path}: field 'states' is unreadable ({err})") from None
    if states.ndim != 2 or len(states) < 2 or not np.isfinite(states).all():
        raise DatasetError(f"{path}: field 'states' must be a finite (N >= 2, S) array")
    return np.maximum(states.std(0), 1e-3).astype(np.float64)
