"""Training GCBC on an exploration dataset with hindsight relabelling.

Each training triple is ``(o_t, o_{t+k}, a_t)`` with ``t`` uniform over the dataset's
actions and ``k`` uniform in ``[1, T - t]`` (any later observation of the same episode is a
goal the recorded action led toward; Ghosh et al. 2019, "Learning to Reach Goals via
Iterated Supervised Learning").  Loss: mean squared error of the predicted action.  A
non-finite loss stops training at once (:class:`GCBCDivergence`, one line naming the step),
and nothing is saved.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch
import yaml
from tqdm import tqdm

from agents.gcbc import CONFIG, WEIGHTS, GCBCPolicy, load_gcbc, save_gcbc
from envs.dataset import Episodes, read_dataset
from worldmodel.checkpoint import CheckpointError, check_finite


class GCBCDivergence(ValueError):
    """GCBC training produced a non-finite loss or weights; nothing was saved."""


class RelabelSampler:
    """Batches of ``(obs (B, *obs_shape), goal (B, *obs_shape), action (B, A))`` with future goals."""

    def __init__(self, data: Episodes):
        lengths = data.episode_lengths
        episode_of_action = np.repeat(np.arange(len(lengths)), lengths)
        step = np.arange(int(lengths.sum())) - np.repeat(data.action_offsets(), lengths)
        self.obs_row = torch.as_tensor(data.obs_offsets()[episode_of_action] + step)  # o_t of action row
        self.future = torch.as_tensor(lengths[episode_of_action] - step)  # T - t >= 1 later observations
        self.obs = torch.as_tensor(data.obs)
        self.actions = torch.as_tensor(data.actions)

    def sample(self, batch_size: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rows = torch.randint(len(self.actions), (batch_size,), generator=gen)
        k = 1 + (torch.rand(batch_size, generator=gen) * self.future[rows]).long().clamp_max(self.future[rows] - 1)
        return self.obs[self.obs_row[rows]], self.obs[self.obs_row[rows] + k], self.actions[rows]


def train_gcbc(data: Episodes, steps: int = 3000, batch_size: int = 256, lr: float = 1e-3, hidden: int = 256,
               seed: int = 0, device: str | torch.device = "cpu", progress: bool = True) -> GCBCPolicy:
    """Fit a :class:`GCBCPolicy` to ``data`` (see the module docstring); deterministic for a seed.

    Raises :class:`GCBCDivergence` on a non-finite loss (at that step) or non-finite final weights.
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    low, high = np.asarray(data.meta["action_low"]), np.asarray(data.meta["action_high"])
    policy = GCBCPolicy(data.obs.shape[1:], low, high, hidden)
    policy.fit_normalizer(torch.as_tensor(data.obs))
    policy.to(device).train()
    sampler = RelabelSampler(data)
    opt = torch.optim.Adam(policy.parameters(), lr=lr)
    for step in tqdm(range(steps), desc="train gcbc", unit="step", disable=not progress):
        obs, goal, action = (x.to(device) for x in sampler.sample(batch_size, gen))
        loss = (policy(obs, goal) - action).pow(2).mean()
        if not torch.isfinite(loss):
            raise GCBCDivergence(f"gcbc: non-finite loss ({loss.item()}) at step {step} of {steps} (lr {lr}); "
                                 f"training stopped, no policy saved (lower eval.gcbc_lr, or check the data)")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    try:
        check_finite(policy.state_dict(), f"gcbc: after {steps} steps (lr {lr})")
    except CheckpointError as err:
        raise GCBCDivergence(f"{err}; no policy saved (lower eval.gcbc_lr, or check the data)") from None
    return policy.eval()


def cache_key(dataset: Path, settings: dict) -> str:
    """Short hash of the dataset file (path, size, mtime) and the training settings."""
    stat = dataset.stat()
    blob = json.dumps({"data": [str(dataset.resolve()), stat.st_size, stat.st_mtime_ns], **settings}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def trained_dir(dataset: str | Path, cache_root: str | Path, steps: int, batch_size: int, lr: float, hidden: int,
                seed: int) -> Path:
    """Where the policy for ``dataset`` and these settings is saved: ``cache_root/<key>/`` (it may not exist)."""
    settings = {"steps": steps, "batch_size": batch_size, "lr": lr, "hidden": hidden, "seed": seed}
    return Path(cache_root) / cache_key(Path(dataset), settings)


def trained_on(dataset: str | Path, cache_root: str | Path) -> list[tuple[Path, dict]]:
    """``(directory, training settings)`` of every policy in ``cache_root`` trained on ``dataset`` as it
    is now (its key is the dataset's and the settings' it records), sorted by directory."""
    found = []
    for config in sorted(Path(cache_root).glob(f"*/{CONFIG}")):
        try:
            settings = (yaml.safe_load(config.read_text()) or {}).get("train")
        except (OSError, yaml.YAMLError, AttributeError):
            continue
        if (isinstance(settings, dict) and (config.parent / WEIGHTS).is_file()
                and config.parent.name == cache_key(Path(dataset), settings)):
            found.append((config.parent, settings))
    return found


def fit_or_load(dataset: str | Path, cache_root: str | Path, steps: int, batch_size: int, lr: float, hidden: int,
                seed: int, device: str | torch.device = "cpu", progress: bool = True) -> tuple[GCBCPolicy, Path]:
    """The GCBC policy for ``dataset`` and these settings: loaded from ``cache_root/<key>/`` when it was
    trained before, else trained and saved there (all or nothing).  Returns the policy and its directory."""
    dataset = Path(dataset)
    settings = {"steps": steps, "batch_size": batch_size, "lr": lr, "hidden": hidden, "seed": seed}
    out = trained_dir(dataset, cache_root, **settings)
    if (out / WEIGHTS).exists():
        return load_gcbc(out, device), out
    policy = train_gcbc(read_dataset(dataset), **settings, device=device, progress=progress)
    save_gcbc(out, policy, {"dataset": str(dataset), "train": settings})
    return policy, out
