"""Control: can the Push-T pixel encoder architecture represent the block angle at all?

Trains the row's encoder (from its config) from scratch with a linear head, supervised on the six
standardised state dims, and writes the held-out R^2 per dim.  Usage: ``angle_capacity.py RUN STEPS OUT``.
"""

import json
import sys
import time

import h5py
import torch

from wm.config import load_config
from worldmodel.model import WorldModel

N_TRAIN, N_HOLD, BATCH = 120000, 10000, 64


def main(run: str, steps: int, out: str) -> None:
    torch.manual_seed(0)
    cfg = load_config(f"{run}/config.yaml")
    with h5py.File(f"{run}/data/dataset.h5", "r") as f:
        obs, states = f["obs"][:N_TRAIN + N_HOLD], f["states"][:N_TRAIN + N_HOLD]
    mu, sd = states[:N_TRAIN].mean(0), states[:N_TRAIN].std(0) + 1e-6
    y, x = torch.tensor((states - mu) / sd, dtype=torch.float32), torch.as_tensor(obs)
    enc = WorldModel(cfg.model, obs.shape[1:], 2).encoder
    enc.fit_normalizer(x[:20000])
    head = torch.nn.Linear(cfg.model.latent_dim, 6)
    opt = torch.optim.Adam([*enc.parameters(), *head.parameters()], lr=1e-3)
    t0 = time.time()
    for s in range(steps):
        idx = torch.randint(0, N_TRAIN, (BATCH,))
        loss = (head(enc(x[idx])) - y[idx]).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if s % 200 == 0:
            print(s, float(loss), f"{time.time() - t0:.0f}s", flush=True)
    with torch.no_grad():
        pred = torch.cat([head(enc(x[i:i + 500])) for i in range(N_TRAIN, N_TRAIN + N_HOLD, 500)])
    yt = y[N_TRAIN:]
    r2 = (1 - (pred - yt).pow(2).mean(0) / yt.var(0)).tolist()
    res = {"run": run, "steps": steps, "batch": BATCH, "held_out_frames": N_HOLD,
           "r2_per_dim": [round(v, 4) for v in r2],
           "dims": ["pusher x", "pusher y", "block x", "block y", "sin", "cos"], "final_loss": float(loss)}
    print(res)
    with open(out, "w") as fh:
        json.dump(res, fh, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
