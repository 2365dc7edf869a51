"""The training state for exact resume: ``train_state.pt`` next to the model checkpoint.

It holds the model and regulariser weights, the optimiser and scheduler states, the step,
the sampler's generator (its position in the stream of batches) and every global RNG
(torch, accelerator, numpy, python), plus the configs that must match on resume.  Only
tensors and plain Python values are stored; it is written atomically and read with
``torch.load(weights_only=True)``, which refuses any pickled object (no code runs on load).
"""

from __future__ import annotations

import io
import pickle
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from worldmodel.checkpoint import CheckpointError, atomic_write

TRAIN_STATE = "train_state.pt"


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


def save_train_state(ckpt_dir: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` (tensors and plain values only) to ``ckpt_dir/train_state.pt`` atomically."""
    buf = io.BytesIO()
    torch.save(state, buf)
    path = Path(ckpt_dir) / TRAIN_STATE
    atomic_write(path, buf.getvalue())
    return path


def _reason(err: Exception) -> str:
    """The informative line of a load error (the unpickler names the refused global)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    for line in lines:
        if "Unsupported global" in line or "WeightsUnpickler error" in line:
            return line.split(". ")[0].rstrip(".")
    return lines[0] if lines else type(err).__name__


def load_train_state(ckpt_dir: str | Path) -> dict[str, Any]:
    """Read ``ckpt_dir/train_state.pt`` with ``weights_only=True``; a pickled object is refused."""
    path = Path(ckpt_dir) / TRAIN_STATE
    if not path.is_file():
        raise CheckpointError(f"{path}: no training state to resume from")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as err:
        raise CheckpointError(f"{path}: refused or unreadable training state ({_reason(err)})") from None
    if not isinstance(state, dict) or "step" not in state:
        raise CheckpointError(f"{path}: not a training state (no 'step')")
    return state
