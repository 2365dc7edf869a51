"""How precisely does a pixel latent hold joint angles? Probe errors in radians against a success tolerance.

An R^2 near 1 says little about a task whose success rule is 0.05 rad per joint (Reacher under the offset
protocol): for each trained pixel run this fits an MLP probe from one latent to the ``cos, sin`` of each
joint angle (held-out quarter of ``samples`` frames of the run's dataset), turns the prediction into an
angle with ``atan2`` and reports, per joint, the median and 90th-percentile absolute error (rad) and the
fraction of frames read within ``--tol``. The same numbers for a small CNN trained on the frames to regress
the states directly (``--ceiling``) say what the image resolution allows at all.

Usage: ``python -m benchmarks.angle_probe RUN [RUN ...] [--pairs 0,2 1,3] [--out FILE]``; the pairs are the
``cos, sin`` columns of each joint in the dataset's states (Reacher: ``cos q, sin q, dq``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

import wm
from benchmarks.state_probe import _Scaled, fit_predict, run_latents, sample_frames
from benchmarks.timing import write_artifact
from wm.provenance import code_at_start

RESULTS = Path(__file__).resolve().parent / "results"


def angle_errors(pred: np.ndarray, true: np.ndarray, pairs: list[tuple[int, int]], tol: float) -> list[dict]:
    """Per joint: median / p90 |angle error| (rad) and the fraction within ``tol``; ``pred``, ``true``
    ``(N, S)`` hold each joint's ``cos, sin`` at the columns of ``pairs``."""
    out = []
    for c, s in pairs:
        d = np.arctan2(pred[:, s], pred[:, c]) - np.arctan2(true[:, s], true[:, c])
        err = np.abs(np.mod(d + np.pi, 2 * np.pi) - np.pi)
        out.append({"median_rad": round(float(np.median(err)), 4), "p90_rad": round(float(np.quantile(err, 0.9)), 4),
                    "within_tol": round(float((err < tol).mean()), 3)})
    return out


def latent_probe(run: Path, samples: int, pairs: list[tuple[int, int]], tol: float, steps: int,
                 train: float = 0.75) -> dict:
    """Angle errors of an MLP probe from ``run``'s latent ``(N, D)``, with the run's image size."""
    cfg, z, states = run_latents(run, samples)
    z = torch.as_tensor(z)
    n = int(len(z) * train)
    z = (z - z[:n].mean(0)) / (z[:n].std(0) + 1e-6)
    net = torch.nn.Sequential(torch.nn.Linear(z.shape[1], 256), torch.nn.GELU(), torch.nn.Linear(256, 256),
                              torch.nn.GELU(), torch.nn.Linear(256, states.shape[1]))
    pred = fit_predict(net, z, states, train, steps, batch=128)
    return {"run": str(run), "image_size": cfg.env.image_size, "train_steps": cfg.train.steps,
            "joints": angle_errors(pred, states[n:], pairs, tol)}


def ceiling(run: Path, samples: int, pairs: list[tuple[int, int]], tol: float, steps: int,
            train: float = 0.75) -> dict:
    """Angle errors of a small strided CNN trained on ``run``'s frames to regress the states."""
    cfg = wm.load_run_config(run)
    frames, states = sample_frames(Path(cfg.data.path or run / "data" / "dataset.h5"), samples)
    torch.manual_seed(0)
    nn = torch.nn
    net = _Scaled(nn.Sequential(nn.Conv2d(frames.shape[-1], 16, 5, 2, 2), nn.ReLU(), nn.Conv2d(16, 32, 3, 2, 1),
                                nn.ReLU(), nn.Conv2d(32, 32, 3, 2, 1), nn.ReLU(), nn.Flatten(), nn.LazyLinear(256),
                                nn.ReLU(), nn.Linear(256, states.shape[1])))
    pred = fit_predict(net, torch.as_tensor(frames), states, train, steps, batch=128)
    n = int(len(frames) * train)
    return {"run": str(run), "image_size": cfg.env.image_size, "joints": angle_errors(pred, states[n:], pairs, tol)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--pairs", nargs="+", default=["0,2", "1,3"], help="cos,sin state columns of each joint")
    parser.add_argument("--tol", type=float, default=0.05, help="success tolerance per joint (rad)")
    parser.add_argument("--samples", type=int, default=8000)
    parser.add_argument("--probe-steps", type=int, default=3000)
    parser.add_argument("--ceiling", action="store_true", help="also train the supervised CNN on each run's frames")
    parser.add_argument("--ceiling-samples", type=int, default=20000)
    parser.add_argument("--ceiling-steps", type=int, default=4000)
    parser.add_argument("--out", type=Path, default=RESULTS / "angle_probe.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    pairs = [tuple(int(i) for i in p.split(",")) for p in args.pairs]
    commit, dirty = code_at_start()
    result = {"git_commit": commit, "git_dirty": dirty, "tol_rad": args.tol, "samples": args.samples,
              "probes": [latent_probe(r, args.samples, pairs, args.tol, args.probe_steps) for r in args.runs]}
    if args.ceiling:
        result["ceiling_samples"], result["ceiling_steps"] = args.ceiling_samples, args.ceiling_steps
        result["ceilings"] = [ceiling(r, args.ceiling_samples, pairs, args.tol, args.ceiling_steps) for r in args.runs]
    write_artifact(result, args.out)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
