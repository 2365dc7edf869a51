"""Which state variables does a pixel encoder keep? MLP probes of each state dimension from one latent.

For each trained pixel run (whose dataset records states), encodes ``samples`` frames of its dataset and
fits a small MLP from the latent to each state dimension; reports held-out R^2. A ceiling shows that the
frames hold the variable: a small CNN trained on the same frames to regress the states directly
(supervised, same split; the runs given should share one dataset, the first run's is used). A
dimension with a high ceiling and a probe near 0 is information the encoder's training objective
dropped; the planner's latent cost cannot see it. A second ceiling trains the first run's own encoder
architecture (fresh weights, a linear readout of its latent) on the same frames: where it reads a
variable that its self-supervised latent lacks, the objective, not the network, dropped it.

The ceiling needs many more frames than the probes (an orientation is not read from a few thousand):
``--ceiling-samples 20000 --ceiling-steps 4000`` by default, about ten minutes on one core for both.

Usage: ``python -m benchmarks.state_probe RUN [RUN ...] [--samples 3000] [--out FILE]``; writes
``benchmarks/results/state_probe.json`` by default.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
from torch import nn

import wm
from benchmarks.timing import write_artifact
from benchmarks.velocity_probe import mlp_r2
from wm.provenance import code_at_start
from worldmodel.config import ModelConfig
from worldmodel.encoders import build_encoder
from worldmodel.predictor_phase import encode_frames

RESULTS = Path(__file__).resolve().parent / "results"


def sample_frames(data: Path, samples: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``samples`` random frames ``(N, H, W, C)`` uint8 of a dataset and their states ``(N, S)``."""
    with h5py.File(data, "r") as f:
        n = len(f["states"])
        idx = np.sort(np.random.default_rng(seed).choice(n, size=min(samples, n), replace=False))
        return f["obs"][idx], f["states"][idx]


class _Scaled(nn.Module):
    """uint8 ``(B, H, W, C)`` -> float ``(B, C, H, W)`` in [0, 1], then ``net``."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.permute(0, 3, 1, 2).float() / 255.0)


def fit_predict(net: nn.Module, x: torch.Tensor, y: np.ndarray, train: float, steps: int, seed: int = 0,
                batch: int = 64) -> np.ndarray:
    """Train ``net`` on the first ``train`` fraction of ``x (N, ...) -> y (N, S)`` (standardised targets,
    Adam, ``batch`` rows a step); return its predictions ``(N - n, S)`` on the rest."""
    torch.manual_seed(seed)
    yt = torch.as_tensor(y, dtype=torch.float32)
    n = int(len(x) * train)
    mu, sd = yt[:n].mean(0), yt[:n].std(0) + 1e-6
    net(x[:1])  # materialise lazy layers before the optimiser sees the parameters
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    for _ in range(steps):
        b = torch.randint(n, (batch,))
        loss = (net(x[b]) - (yt[b] - mu) / sd).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return (torch.cat([net(x[i:i + 256]) for i in range(n, len(x), 256)]) * sd + mu).numpy()


def supervised_r2(net: nn.Module, frames: np.ndarray, y: np.ndarray, train: float = 0.75, steps: int = 1500,
                  seed: int = 0) -> list[float]:
    """Held-out R^2 per output of ``net`` (uint8 ``(B, H, W, C)`` -> ``(B, S)``) trained to regress
    ``y (N, S)`` from ``frames (N, H, W, C)``; the first ``train`` fraction trains, the rest scores."""
    pred = fit_predict(net, torch.as_tensor(frames), y, train, steps, seed)
    held = np.asarray(y, dtype=np.float32)[int(len(frames) * train):]
    res = ((pred - held) ** 2).sum(0) / ((held - held.mean(0)) ** 2).sum(0)
    return [round(float(1 - r), 4) for r in res]


def cnn_r2(frames: np.ndarray, y: np.ndarray, train: float = 0.75, steps: int = 1500, seed: int = 0) -> list[float]:
    """:func:`supervised_r2` of a small strided CNN (16-32-32 channels, a 256-unit head)."""
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(frames.shape[-1], 16, 5, 2, 2), nn.ReLU(), nn.Conv2d(16, 32, 3, 2, 1), nn.ReLU(),
                        nn.Conv2d(32, 32, 3, 2, 1), nn.ReLU(), nn.Flatten(), nn.LazyLinear(256), nn.ReLU(),
                        nn.Linear(256, y.shape[1]))
    return supervised_r2(_Scaled(net), frames, y, train, steps, seed)


def encoder_r2(cfg: ModelConfig, frames: np.ndarray, y: np.ndarray, train: float = 0.75, steps: int = 1500,
               seed: int = 0) -> list[float]:
    """:func:`supervised_r2` of the encoder architecture of ``cfg`` (fresh weights, its latent size) and a
    linear readout: can that network, told the states, hold them in its latent? A high value beside a
    probe near 0 puts the loss in the training objective, not the architecture."""
    torch.manual_seed(seed)
    encoder = build_encoder(cfg, frames.shape[1:], cfg.latent_dim)
    encoder.fit_normalizer(torch.as_tensor(frames[: int(len(frames) * train)]))
    net = nn.Sequential(encoder, nn.Linear(cfg.latent_dim, y.shape[1]))
    return supervised_r2(net, frames, y, train, steps, seed)


def run_latents(run: Path, samples: int) -> tuple[Any, np.ndarray, np.ndarray]:
    """``run``'s config, the latents ``(N, D)`` of ``samples`` random frames of its dataset and their states
    ``(N, S)``."""
    cfg = wm.load_run_config(run)
    frames, states = sample_frames(Path(cfg.data.path or run / "data" / "dataset.h5"), samples)
    return cfg, encode_frames(wm.load_model(run), frames, torch.device("cpu"), chunk=500), states


def probe(run: Path, samples: int) -> dict:
    """Per-state-dimension R^2 of the MLP probe from ``run``'s latent ``(S,)``, with the run's config facts."""
    cfg, z, states = run_latents(run, samples)
    m = cfg.model
    return {"run": str(run), "regularizer": m.regularizer, "channels": m.channels, "keypoints": m.keypoints,
            "smooth_coeff": m.smooth_coeff, "train_steps": cfg.train.steps, "latent_mlp_r2": mlp_r2(z, states)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--samples", type=int, default=3000)
    parser.add_argument("--ceiling-samples", type=int, default=20000, help="frames the supervised CNN sees")
    parser.add_argument("--ceiling-steps", type=int, default=4000)
    parser.add_argument("--out", type=Path, default=RESULTS / "state_probe.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    runs = [probe(r, args.samples) for r in args.runs]
    cfg = wm.load_run_config(args.runs[0])
    data = Path(cfg.data.path or args.runs[0] / "data" / "dataset.h5")
    frames, states = sample_frames(data, args.ceiling_samples)
    commit, dirty = code_at_start()
    result = {"git_commit": commit, "git_dirty": dirty, "samples": args.samples, "runs": runs,
              "ceiling_samples": len(frames), "ceiling_steps": args.ceiling_steps,
              "pixels_cnn_r2": cnn_r2(frames, states, steps=args.ceiling_steps),
              "encoder_supervised_r2": encoder_r2(cfg.model, frames, states, steps=args.ceiling_steps)}
    write_artifact(result, args.out)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
