"""Goal-conditioned behaviour cloning (GCBC): the model-free baseline.

``pi(obs, goal) -> action``, trained by regression on the exploration dataset with
hindsight relabelling (a future observation of the same episode is the goal; see
:mod:`agents.gcbc_train`).  State observations go through an MLP on the normalised
``[obs, goal]``; pixel observations through a small CNN on the channel-stacked
``[obs, goal]`` image.  The action is ``centre + half * tanh(.)``, so it never leaves the
bounds.  Saved as ``model.safetensors`` + ``config.yaml`` (no pickle), one directory written
all or nothing; non-finite weights are refused at save and at load, naming the tensor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import safetensors.torch
import torch
import yaml
from torch import nn

from agents.protocol import BaseAgent
from worldmodel.checkpoint import CheckpointError, check_finite, write_directory
from worldmodel.networks import mlp

WEIGHTS, CONFIG = "model.safetensors", "config.yaml"


def _cnn(in_channels: int, out_dim: int) -> nn.Sequential:
    """Four stride-2 convolutions, pooled to 4x4, then linear: ``(B, C, H, W) -> (B, out_dim)``."""
    layers: list[nn.Module] = []
    c = in_channels
    for width in (32, 64, 64, 64):
        layers += [nn.Conv2d(c, width, 4, stride=2, padding=1), nn.GELU()]
        c = width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(c * 16, out_dim))


class GCBCPolicy(nn.Module):
    """``forward(obs (B, *obs_shape), goal (B, *obs_shape)) -> action (B, A)`` inside ``[low, high]``."""

    def __init__(self, obs_shape: tuple[int, ...], low: np.ndarray, high: np.ndarray, hidden: int = 256):
        super().__init__()
        self.obs_shape, self.hidden = tuple(obs_shape), hidden
        self.pixels = len(self.obs_shape) == 3
        action_dim = len(low)
        self.register_buffer("low", torch.as_tensor(np.asarray(low), dtype=torch.float32))
        self.register_buffer("high", torch.as_tensor(np.asarray(high), dtype=torch.float32))
        if self.pixels:
            self.net = nn.Sequential(_cnn(2 * self.obs_shape[-1], hidden), nn.GELU(),
                                     mlp(hidden, hidden, action_dim, 1))
        else:
            dim = int(np.prod(self.obs_shape))
            self.register_buffer("obs_mean", torch.zeros(dim))
            self.register_buffer("obs_std", torch.ones(dim))
            self.net = mlp(2 * dim, hidden, action_dim, 3)

    @torch.no_grad()
    def fit_normalizer(self, obs: torch.Tensor) -> None:
        """State observations ``(N, S)``: set the input normalisation (no-op for pixels)."""
        if not self.pixels:
            self.obs_mean.copy_(obs.float().mean(0))
            self.obs_std.copy_(obs.float().std(0).clamp_min(1e-3))

    def _inputs(self, obs: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
        if self.pixels:  # (B, H, W, C) uint8 -> (B, 2C, H, W) in [0, 1]
            x = torch.cat([obs, goal], dim=-1).float() / 255.0
            return x.permute(0, 3, 1, 2)
        return torch.cat([(obs.float() - self.obs_mean) / self.obs_std,
                          (goal.float() - self.obs_mean) / self.obs_std], dim=-1)

    def forward(self, obs: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
        centre, half = (self.high + self.low) / 2, (self.high - self.low) / 2
        return centre + half * torch.tanh(self.net(self._inputs(obs, goal)))

    def config(self) -> dict[str, Any]:
        return {"obs_shape": list(self.obs_shape), "low": self.low.tolist(), "high": self.high.tolist(),
                "hidden": self.hidden}


def save_gcbc(out_dir: str | Path, policy: GCBCPolicy, extra: dict[str, Any] | None = None) -> Path:
    """Write ``model.safetensors`` and ``config.yaml`` as the directory ``out_dir``, all or nothing."""
    state = {k: v.detach().cpu().contiguous() for k, v in policy.state_dict().items()}
    check_finite(state, f"{out_dir}: GCBC policy")
    config = yaml.safe_dump({**policy.config(), **(extra or {})}, sort_keys=False).encode()
    return write_directory(out_dir, {WEIGHTS: safetensors.torch.save(state), CONFIG: config})


def load_gcbc(out_dir: str | Path, device: str | torch.device = "cpu") -> GCBCPolicy:
    """Rebuild a :class:`GCBCPolicy` from ``config.yaml`` and load its weights (no pickle; non-finite refused)."""
    out_dir = Path(out_dir)
    try:
        cfg = yaml.safe_load((out_dir / CONFIG).read_text())
        policy = GCBCPolicy(tuple(cfg["obs_shape"]), np.asarray(cfg["low"]), np.asarray(cfg["high"]),
                            int(cfg["hidden"]))
        state = safetensors.torch.load((out_dir / WEIGHTS).read_bytes())
        check_finite(state, out_dir / WEIGHTS)
        policy.load_state_dict(state, strict=True)
    except CheckpointError as err:
        raise ValueError(f"cannot load the GCBC policy: {err}") from None
    except (OSError, yaml.YAMLError, KeyError, TypeError, RuntimeError, safetensors.SafetensorError) as err:
        raise ValueError(f"{out_dir}: cannot load the GCBC policy ({str(err).splitlines()[0]})") from None
    return policy.to(device).eval()


class GCBCAgent(BaseAgent):
    """Acts with a :class:`GCBCPolicy` toward the goal observation given at ``reset``."""

    def __init__(self, policy: GCBCPolicy, device: str | torch.device = "cpu"):
        self.policy, self.device = policy.eval(), torch.device(device)
        self._goal: torch.Tensor | None = None

    def reset(self, obs: np.ndarray, info: dict) -> None:
        self._goal = torch.as_tensor(np.ascontiguousarray(info["goal"]), device=self.device)[None]

    def act(self, obs: np.ndarray) -> np.ndarray:
        """The action ``(A,)`` for ``obs``."""
        with torch.inference_mode():
            x = torch.as_tensor(np.ascontiguousarray(obs), device=self.device)[None]
            return self.policy(x, self._goal)[0].cpu().numpy().astype(np.float32)
