"""Does a latent hold an object's angle only up to a symmetry? MLP probes of ``sin, cos (k theta)``, k = 1..K.

An R^2 near 0 for ``sin theta, cos theta`` can hide a latent that reads the orientation of a shape that
looks symmetric at the encoder's resolution: a T whose three arms look alike holds ``3 theta`` (the angle
modulo 120 degrees) but cannot tell which arm is the stem. For each run this encodes ``samples`` frames of
its dataset, takes ``theta = atan2(state[sin_col], state[cos_col])`` and fits one MLP probe
(:func:`benchmarks.velocity_probe.mlp_r2`, held-out quarter) from the latent to ``sin k theta, cos k theta``
for every ``k``. A latent that holds the angle reads every harmonic; one that holds it modulo ``2 pi / m``
reads the multiples of ``m`` only.

Usage: ``python -m benchmarks.angle_harmonics RUN [RUN ...] [--columns 4 5] [--harmonics 4] [--out FILE]``;
the columns are the angle's ``sin, cos`` in the dataset's states (Push-T: 4 and 5).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from benchmarks.state_probe import run_latents
from benchmarks.timing import write_artifact
from benchmarks.velocity_probe import mlp_r2
from wm.provenance import code_at_start

RESULTS = Path(__file__).resolve().parent / "results"


def harmonic_targets(states: np.ndarray, sin_col: int, cos_col: int, harmonics: int) -> np.ndarray:
    """``states (N, S)`` -> ``(N, 2K)``: ``sin k theta, cos k theta`` for k = 1..K, theta from the two columns."""
    theta = np.arctan2(states[:, sin_col], states[:, cos_col])
    k = np.arange(1, harmonics + 1)
    return np.stack([np.sin(theta[:, None] * k), np.cos(theta[:, None] * k)], axis=2).reshape(len(states), -1)


def probe(run: Path, samples: int, columns: tuple[int, int], harmonics: int) -> dict:
    """Held-out R^2 of ``sin k theta`` and ``cos k theta`` per ``k`` for ``run``'s latent."""
    cfg, z, states = run_latents(run, samples)
    r2 = mlp_r2(z, harmonic_targets(states, *columns, harmonics))
    return {"run": str(run), "image_size": cfg.env.image_size, "train_steps": cfg.train.steps,
            "r2": {str(k): {"sin": r2[2 * k - 2], "cos": r2[2 * k - 1]} for k in range(1, harmonics + 1)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--columns", type=int, nargs=2, default=(4, 5), metavar=("SIN", "COS"))
    parser.add_argument("--harmonics", type=int, default=4)
    parser.add_argument("--out", type=Path, default=RESULTS / "angle_harmonics.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    commit, dirty = code_at_start()
    runs = [probe(r, args.samples, tuple(args.columns), args.harmonics) for r in args.runs]
    result = {"git_commit": commit, "git_dirty": dirty, "samples": args.samples, "columns": args.columns,
              "runs": runs}
    write_artifact(result, args.out)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
