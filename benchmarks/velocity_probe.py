"""Can a history model's predictor know the velocity? MLP probes of joint velocities from latent windows.

For a trained pixel run whose dataset records states with velocities (e.g. Reacher: ``cos q, sin q,
dq``), fits a small MLP from (a) one latent, (b) the latents of the last ``c = 3`` frames
``frameskip`` env steps apart, (c) those plus the env actions taken since the oldest frame, and (d)
the true angles of the same frames (a ceiling without images), to each state dimension; reports
held-out R^2. The gap between (b) and (c) is what the predictor cannot know without the actions
between its frames (``model.action_history``).

Usage: ``python -m benchmarks.velocity_probe RUN [--samples 4000]``; writes
``benchmarks/results/velocity_probe.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import h5py
import numpy as np
import torch

import wm
from benchmarks.timing import write_artifact
from wm.provenance import code_at_start

RESULTS = Path(__file__).resolve().parent / "results"


def sample_rows(lengths: np.ndarray, back: int, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` observation rows with ``back`` earlier steps in their episode, and their episode index ``(n,)``."""
    starts = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]])
    rng = np.random.default_rng(seed)
    eps = rng.integers(len(lengths), size=n)
    return np.array([starts[e] + rng.integers(back, lengths[e] + 1) for e in eps]), eps


def mlp_r2(x: np.ndarray, y: np.ndarray, train: float = 0.75, steps: int = 3000, seed: int = 0) -> list[float]:
    """Held-out R^2 per output of a 2-layer MLP probe ``x (N, F) -> y (N, S)``."""
    torch.manual_seed(seed)
    xt, yt = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)
    n = int(len(xt) * train)
    mu, sd = yt[:n].mean(0), yt[:n].std(0) + 1e-6
    xm, xs = xt[:n].mean(0), xt[:n].std(0) + 1e-6
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 256), torch.nn.GELU(), torch.nn.Linear(256, 256),
                              torch.nn.GELU(), torch.nn.Linear(256, y.shape[1]))
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    for _ in range(steps):
        b = torch.randint(n, (128,))
        loss = (net((xt[b] - xm) / xs) - (yt[b] - mu) / sd).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        pred = net((xt[n:] - xm) / xs) * sd + mu
    res = ((pred - yt[n:]) ** 2).sum(0) / ((yt[n:] - yt[n:].mean(0)) ** 2).sum(0)
    return [round(float(1 - r), 4) for r in res]


def probe(run: Path, samples: int, c: int = 3) -> dict:
    """The four probes' R^2 per state dimension for ``run``'s model on its own dataset."""
    model = wm.load_model(run)
    k = model.frameskip
    data = Path(wm.load_run_config(run).data.path or run / "data" / "dataset.h5")
    with h5py.File(data, "r") as f:
        lengths, states, actions = f["episode_lengths"][:], f["states"][:], f["actions"][:]
        rows, eps = sample_rows(lengths, (c - 1) * k, samples)
        frames = [rows - j * k for j in range(c - 1, -1, -1)]  # oldest first
        with torch.no_grad():
            z = [model.encode(np.stack([f["obs"][i] for i in r])).numpy() for r in frames]
    acts = np.concatenate([actions[rows - j - eps] for j in range((c - 1) * k, 0, -1)], axis=1)
    angles = np.concatenate([states[r][:, :4] for r in frames], axis=1)
    y = states[rows]
    commit, dirty = code_at_start()
    return {"run": str(run), "git_commit": commit, "git_dirty": dirty, "samples": samples, "history": c, "frameskip": k,
            "one_latent": mlp_r2(z[-1], y), "latent_window": mlp_r2(np.concatenate(z, 1), y),
            "latent_window_and_actions": mlp_r2(np.concatenate([*z, acts], 1), y),
            "true_angles_window": mlp_r2(angles, y)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--samples", type=int, default=4000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    result = probe(args.run, args.samples)
    write_artifact(result, RESULTS / "velocity_probe.json")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
