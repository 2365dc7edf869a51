"""Sub-trajectory batches from a dataset, at the model's frameskip."""

from __future__ import annotations

import numpy as np
import torch

from envs.dataset import Episodes


class WindowSampler:
    """Uniformly sampled windows of ``steps`` model steps (``steps * frameskip`` env steps).

    A batch holds ``obs (B, steps+1, *obs_shape)``, ``actions (B, steps, k*A)`` (the
    ``k`` env actions of each model step concatenated) and ``states (B, steps+1, S)``.
    """

    def __init__(self, data: Episodes, steps: int, frameskip: int, device: str | torch.device = "cpu",
                 episodes: np.ndarray | None = None):
        self.steps, self.k = steps, frameskip
        span = steps * frameskip
        ids = np.arange(data.num_episodes) if episodes is None else np.asarray(episodes)
        lengths = data.episode_lengths[ids]
        ok = lengths >= span
        if not ok.any():
            raise ValueError(f"no episode has the {span} steps a window needs "
                             f"(pred_steps * frameskip); longest has {int(lengths.max())}")
        obs_off, act_off = data.obs_offsets()[ids][ok], data.action_offsets()[ids][ok]
        counts = lengths[ok] - span + 1
        # every valid window start, as (first obs row, first action row)
        rep = np.repeat(np.arange(len(counts)), counts)
        within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        self.obs_start = torch.as_tensor(obs_off[rep] + within)
        self.act_start = torch.as_tensor(act_off[rep] + within)
        self.obs = torch.as_tensor(data.obs).to(device)
        self.actions = torch.as_tensor(data.actions).to(device)
        self.states = torch.as_tensor(data.states).to(device)
        self.obs_steps = torch.arange(steps + 1) * frameskip
        self.act_steps = torch.arange(span)

    def __len__(self) -> int:
        return len(self.obs_start)

    def batch(self, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        """The windows with indices ``idx (B,)`` (into the list of valid starts)."""
        o = (self.obs_start[idx, None] + self.obs_steps).to(self.obs.device)
        a = (self.act_start[idx, None] + self.act_steps).to(self.obs.device)
        b = len(idx)
        return {"obs": self.obs[o], "states": self.states[o],
                "actions": self.actions[a].reshape(b, self.steps, -1)}

    def sample(self, batch_size: int, generator: torch.Generator, rank: int = 0, world_size: int = 1
               ) -> dict[str, torch.Tensor]:
        """This rank's share of a uniformly random global batch of ``batch_size`` windows.

        Every rank draws the same global indices with its (identically seeded) ``generator``
        and keeps the ``rank``-th of ``world_size`` contiguous chunks: a distributed sampler
        whose ranks together see exactly the batch one process would.
        """
        if batch_size % world_size:
            raise ValueError(f"batch_size: {batch_size} is not divisible by the {world_size} ranks")
        idx = torch.randint(len(self), (batch_size,), generator=generator)
        return self.batch(idx.view(world_size, -1)[rank])
