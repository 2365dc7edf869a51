"""The training state for exact resume: ``train_state.pt`` in the checkpoint's unit, beside the model.

It holds the model and regulariser weights, the optimiser and scheduler states, the step,
the sampler's generator (its position in the stream of batches) and every global RNG
(torch, accelerator, numpy, python), plus the configs that must match on resume.  Only
tensors and plain Python values are stored; it is written with the model as one unit
(:func:`worldmodel.checkpoint.write_checkpoint`) and read with
``torch.load(weights_only=True)``, which refuses any pickled object (no code runs on load).
"""

from __future__ import annotations

import io
import pickle
import pickletools
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from worldmodel.checkpoint import TRAIN_STATE, CheckpointError, atomic_write, checkpoint_dir

__all__ = ["TRAIN_STATE", "load_train_state", "rng_state", "save_train_state", "set_rng_state",
           "train_state_bytes"]


def rng_state() -> dict[str, Any]:
    """Every global RNG as tensors and plain values."""
    version, mt, gauss = random.getstate()
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    state = {"torch": torch.get_rng_state(), "python_version": version,
             "python_mt": torch.tensor(mt, dtype=torch.int64), "python_gauss": gauss,
             "numpy_name": np_name, "numpy_keys": torch.from_numpy(np_keys.astype(np.int64)),
             "numpy_pos": int(np_pos), "numpy_has_gauss": int(np_has_gauss), "numpy_gauss": float(np_gauss)}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` captured."""
    torch.set_rng_state(state["torch"])
    random.setstate((state["python_version"], tuple(int(x) for x in state["python_mt"]), state["python_gauss"]))
    np.random.set_state((state["numpy_name"], state["numpy_keys"].numpy().astype(np.uint32), state["numpy_pos"],
                         state["numpy_has_gauss"], state["numpy_gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def train_state_bytes(state: dict[str, Any]) -> bytes:
    """``state`` (tensors and plain values only) serialised as ``train_state.pt``."""
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


def save_train_state(ckpt_dir: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` to ``ckpt_dir/train_state.pt`` atomically, on its own (training writes it
    inside the checkpoint's unit instead)."""
    path = Path(ckpt_dir) / TRAIN_STATE
    atomic_write(path, train_state_bytes(state))
    return path


_TORCH_ADVICE = ("weights_only", "Weights only load failed", "Please file an issue", "Check the documentation",
                 "add_safe_globals", "trusted source")


def _pickled_global(path: Path) -> str | None:
    """The first global a raw pickle file names, read with ``pickletools`` (nothing is executed)."""
    try:
        ops = list(pickletools.genops(path.read_bytes()))
    except (OSError, ValueError, pickle.PickleError):
        return None
    strings: list[str] = []
    for op, arg, _ in ops:
        if op.name in ("GLOBAL", "INST") and isinstance(arg, str):
            return arg.replace(" ", ".")
        if op.name == "STACK_GLOBAL" and len(strings) >= 2:
            return ".".join(strings[-2:])
        if isinstance(arg, str):
            strings.append(arg)
    return None


def _reason(err: Exception, path: Path) -> str:
    """The informative part of a load error: the blocked global, never torch's advice to retry
    with ``weights_only=False``."""
    text = str(err)
    found = re.search(r"GLOBAL ([\w.]+)", text)
    name = found.group(1) if found else None
    if name is None and "Unsupported operand" in text:
        name = _pickled_global(path) or "an unknown callable"
    if name is not None:
        return f"a pickled object calls the blocked global {name}; only tensors and plain values may be stored"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [line for line in lines if not any(a in line for a in _TORCH_ADVICE)]
    return lines[0] if lines else type(err).__name__


def load_train_state(ckpt_dir: str | Path) -> dict[str, Any]:
    """Read ``train_state.pt`` of the checkpoint's current unit (or a flat ``ckpt_dir``) with
    ``weights_only=True``; a pickled object is refused."""
    path = checkpoint_dir(ckpt_dir) / TRAIN_STATE
    if not path.is_file():
        raise CheckpointError(f"{path}: no training state to resume from")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as err:
        raise CheckpointError(f"{path}: refused or unreadable training state ({_reason(err, path)})") from None
    if not isinstance(state, dict) or "step" not in state:
        raise CheckpointError(f"{path}: not a training state (no 'step')")
    return state
