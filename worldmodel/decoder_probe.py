"""A decoder probe: images from *frozen* latents, to render imagined rollouts.

The probe is fitted after the world model, on latents computed under ``no_grad`` (nothing
flows back into the encoder), to reconstruct the observed frames.  It shows what the latent
retains, and turns predicted latents into pictures::

    probe = DecoderProbe.load(ckpt_dir)
    frames = probe.decode(model.rollout(z0, actions)[0])   # (H, 64, 64, 3) uint8

Saved as ``decoder_probe.safetensors`` + ``decoder_probe.yaml`` next to the model (in the
checkpoint's current unit, see :mod:`worldmodel.checkpoint`).  The probe
predicts a residual on the dataset's mean frame; its loss is the squared pixel error in
[0, 1], with pixels that differ from the mean frame weighted ``1 + fg_weight``: the agent
covers few pixels, and an unweighted probe would settle for the empty arena.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import safetensors.torch
import torch
import yaml
from torch import nn
from tqdm import tqdm

from envs.dataset import Episodes
from worldmodel.checkpoint import CheckpointError, atomic_write, check_finite, checkpoint_dir, read_current
from worldmodel.config import TrainConfig
from worldmodel.data import WindowSampler
from worldmodel.decoders import ConvDecoder
from worldmodel.diagnostics import encode_chunked
from worldmodel.model import WorldModel
from worldmodel.pixel_diagnostics import pixel_error_by_horizon

PROBE_WEIGHTS, PROBE_CONFIG = "decoder_probe.safetensors", "decoder_probe.yaml"


class DecoderProbe(nn.Module):
    """``z (B, D)`` -> images ``(B, H, W, C)``; see the module docstring."""

    def __init__(self, latent_dim: int, image_shape: tuple[int, int, int], channels: int = 16):
        super().__init__()
        self.latent_dim, self.image_shape, self.channels = latent_dim, tuple(image_shape), channels
        h, w, c = self.image_shape
        self.register_buffer("mean_frame", torch.zeros(c, h, w))
        self.net = ConvDecoder(latent_dim, h, w, c, channels)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``z (B, D)`` -> pixels in about [0, 1], ``(B, C, H, W)`` (not clamped): mean frame + residual."""
        return self.mean_frame + self.net(z)

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``z (B, D)`` -> uint8 images ``(B, H, W, C)`` on the CPU."""
        x = self.forward(z.to(next(self.parameters()).device).float())
        return (x.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu()

    def save(self, ckpt_dir: str | Path, metrics: dict[str, Any] | None = None) -> Path:
        """Write weights and config atomically next to the model of ``ckpt_dir`` (into its current unit)."""
        ckpt_dir = checkpoint_dir(ckpt_dir)
        config = {"latent_dim": self.latent_dim, "image_shape": list(self.image_shape), "channels": self.channels,
                  **(metrics or {})}
        atomic_write(ckpt_dir / PROBE_CONFIG, yaml.safe_dump(config, sort_keys=False).encode())
        state = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        atomic_write(ckpt_dir / PROBE_WEIGHTS, safetensors.torch.save(state))
        return ckpt_dir

    @classmethod
    def load(cls, ckpt_dir: str | Path, device: str | torch.device = "cpu") -> DecoderProbe:
        """Rebuild from ``decoder_probe.yaml`` and load ``decoder_probe.safetensors`` (no pickle) of the
        checkpoint's current unit (or a flat ``ckpt_dir``), both from one unit (:func:`read_current`)."""
        return read_current(ckpt_dir, lambda unit: cls._load_unit(unit, device))

    @classmethod
    def _load_unit(cls, ckpt_dir: Path, device: str | torch.device) -> DecoderProbe:
        """:meth:`load` of one unit (or flat checkpoint) directory."""
        try:
            cfg = yaml.safe_load((ckpt_dir / PROBE_CONFIG).read_text())
            probe = cls(int(cfg["latent_dim"]), tuple(cfg["image_shape"]), int(cfg["channels"]))
        except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as err:
            raise CheckpointError(f"{ckpt_dir / PROBE_CONFIG}: unreadable decoder probe config ({err})") from None
        try:
            state = safetensors.torch.load((ckpt_dir / PROBE_WEIGHTS).read_bytes())
            check_finite(state, ckpt_dir / PROBE_WEIGHTS)
            probe.load_state_dict(state)
        except CheckpointError:
            raise
        except (OSError, RuntimeError, ValueError, safetensors.SafetensorError) as err:
            raise CheckpointError(f"{ckpt_dir / PROBE_WEIGHTS}: cannot load ({str(err).splitlines()[0]})") from None
        return probe.to(device).eval()


def probe_loss(out: torch.Tensor, target: torch.Tensor, mean_frame: torch.Tensor, fg_weight: float) -> torch.Tensor:
    """Foreground-weighted squared error; all ``(B, C, H, W)`` in [0, 1] except ``mean_frame (C, H, W)``."""
    fg = (target - mean_frame).abs().amax(dim=1, keepdim=True) > 0.1
    return ((out - target).pow(2) * (1 + fg_weight * fg)).mean()


def _rows(data: Episodes, episodes: np.ndarray) -> torch.Tensor:
    """Indices of every observation of ``episodes`` in ``data.obs``."""
    offsets, lengths = data.obs_offsets(), data.episode_lengths
    return torch.as_tensor(np.concatenate([np.arange(offsets[i], offsets[i] + lengths[i] + 1) for i in episodes]))


def heldout_metrics(model: WorldModel, probe: DecoderProbe, data: Episodes, episodes: np.ndarray,
                    steps: int) -> dict[str, float]:
    """Reconstruction MSE / PSNR of held-out frames and the pixel error by horizon (all and foreground)."""
    device = next(probe.parameters()).device
    rows = _rows(data, episodes)
    pick = rows[torch.linspace(0, len(rows) - 1, min(len(rows), 1024)).long()]
    frames = torch.as_tensor(data.obs[pick.numpy()]).to(device)
    with torch.no_grad():
        decoded = probe(model.encode(frames)).clamp(0, 1)
    mse = float((decoded - frames.float().div(255).permute(0, 3, 1, 2)).pow(2).mean())
    metrics = {"probe/decoder_mse": mse, "probe/decoder_psnr": float(10 * np.log10(1 / max(mse, 1e-12)))}
    windows = WindowSampler(data, steps, model.cfg.frameskip, device, episodes)
    by_h = pixel_error_by_horizon(model, probe, windows)
    for name, values in by_h.items():
        metrics.update({f"pixels/{name}_h{h}": float(v) for h, v in enumerate(values)})
    return metrics


def fit_decoder_probe(model: WorldModel, data: Episodes, cfg: TrainConfig, ckpt_dir: Path | None = None,
                      progress: bool = True, batch_size: int = 64, fg_weight: float = 20.0) -> dict[str, float]:
    """Fit a :class:`DecoderProbe` on ``model``'s frozen latents of every frame of ``data``; save it.

    Returns, on held-out episodes (the trainer's split), ``probe/decoder_mse`` and
    ``probe/decoder_psnr`` (reconstruction, [0, 1] pixels, unweighted) and the pixel error by
    horizon of decoded predictions ``pixels/{mse,fg_mse,fg_mse_blank}_h*``
    (:func:`~worldmodel.pixel_diagnostics.pixel_error_by_horizon`).
    """
    from worldmodel.train import split_episodes

    device = next(model.parameters()).device
    model.eval()
    frames = torch.as_tensor(data.obs)
    with torch.no_grad():
        z = encode_chunked(model, frames.to(device)).cpu()  # frozen: no gradient can reach the encoder
    train_ids, hold_ids = split_episodes(data.num_episodes, 0.1, cfg.seed)
    tr = _rows(data, train_ids)

    def target(idx: torch.Tensor) -> torch.Tensor:
        return frames[idx].to(device).float().div(255).permute(0, 3, 1, 2)

    mean_frame = target(tr[torch.linspace(0, len(tr) - 1, min(len(tr), 4096)).long()]).mean(0)
    gen = torch.Generator().manual_seed(cfg.seed)
    probe = DecoderProbe(model.cfg.latent_dim, model.obs_shape).to(device)
    probe.mean_frame.copy_(mean_frame)
    opt = torch.optim.Adam(probe.parameters(), lr=1e-3)
    for _ in tqdm(range(cfg.probe_steps), desc="decoder probe", disable=not progress):
        idx = tr[torch.randint(len(tr), (batch_size,), generator=gen)]
        loss = probe_loss(probe(z[idx].to(device)), target(idx), mean_frame, fg_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    metrics = heldout_metrics(model, probe.eval(), data, hold_ids, cfg.pred_steps)
    if ckpt_dir is not None:
        probe.save(ckpt_dir, {"steps": cfg.probe_steps, "heldout_mse": metrics["probe/decoder_mse"],
                              "heldout_psnr": metrics["probe/decoder_psnr"]})
    return metrics
