"""Screen: does a temporal-distance objective (regress the env steps between two frames of one episode)
pull the Push-T block's angle into a pixel latent? Probe R^2 per state dim after training."""
import json
import sys

import h5py
import numpy as np
import torch
from torch import nn

import wm
from benchmarks.velocity_probe import mlp_r2
from worldmodel.encoders import build_encoder

torch.set_num_threads(1)
torch.manual_seed(0)
steps, max_gap = int(sys.argv[1]), int(sys.argv[2])
cfg = wm.load_run_config("runs/bench/pusht_pixels").model
with h5py.File("runs/bench/pusht_pixels/data/dataset.h5", "r") as f:
    L = f["episode_lengths"][:]
    n_ep = 700
    end = int((L[:n_ep] + 1).sum())
    obs, states = f["obs"][:end], f["states"][:end]
starts = np.concatenate([[0], np.cumsum(L[:n_ep] + 1)[:-1]])
train_eps, test_eps = np.arange(600), np.arange(600, 700)
enc = build_encoder(cfg, (64, 64, 3), cfg.latent_dim)
enc.fit_normalizer(torch.as_tensor(obs[: starts[600]: 7]))
head = nn.Sequential(nn.Linear(2 * cfg.latent_dim, 256), nn.GELU(), nn.Linear(256, 256), nn.GELU(), nn.Linear(256, 1))
opt = torch.optim.Adam(list(enc.parameters()) + list(head.parameters()), 3e-4)
rng = np.random.default_rng(0)
for step in range(steps):
    ep = rng.choice(train_eps, 64)
    gap = rng.integers(0, max_gap + 1, 64)
    t0 = rng.integers(0, L[ep] - gap + 1)
    i, j = starts[ep] + t0, starts[ep] + t0 + gap
    swap = rng.random(64) < 0.5
    i, j = np.where(swap, j, i), np.where(swap, i, j)
    z = enc(torch.as_tensor(obs[np.concatenate([i, j])]))
    zi, zj = z[:64], z[64:]
    pred = 0.5 * (head(torch.cat([zi, zj], 1)) + head(torch.cat([zj, zi], 1))).squeeze(1)
    target = torch.as_tensor(np.log1p(gap), dtype=torch.float32)
    loss = (pred - target).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 250 == 0:
        print(step, round(loss.item(), 4), flush=True)
test_rows = np.concatenate([np.arange(starts[e], starts[e] + L[e] + 1) for e in test_eps])
pick = np.sort(rng.choice(test_rows, 3000, replace=False))
with torch.no_grad():
    z = torch.cat([enc(torch.as_tensor(obs[pick[k:k + 500]])) for k in range(0, 3000, 500)]).numpy()
r2 = mlp_r2(z, states[pick])
print(json.dumps({"steps": steps, "max_gap": max_gap, "final_loss": loss.item(), "latent_mlp_r2": r2}))
