"""Prediction error by horizon in pixel space, through the decoder probe."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from worldmodel.data import WindowSampler
    from worldmodel.decoder_probe import DecoderProbe
    from worldmodel.model import WorldModel


@torch.no_grad()
def pixel_error_by_horizon(model: WorldModel, probe: DecoderProbe, windows: WindowSampler, n: int = 256,
                           seed: int = 0, chunk: int = 256) -> dict[str, torch.Tensor]:
    """Squared pixel errors (in [0, 1]) of decoded latents against the true frames, by horizon.

    Entry 0 decodes the encoding of each window's first frame (the probe's own error, the
    floor); entry ``h`` decodes the ``h``-step autoregressive prediction from it.  Returns
    ``mse (H+1,)`` over all pixels, ``fg_mse (H+1,)`` over the pixels where the true frame
    differs from the probe's mean frame (the moving things: is the agent drawn where it
    is?), and ``fg_mse_blank (H+1,)``: the same for the mean frame itself (no latent at all).
    """
    model.eval()
    batch = windows.sample(min(n, len(windows)), torch.Generator().manual_seed(seed))
    z0 = model.encode(batch["obs"][:, 0])
    latents = torch.cat([z0[:, None], model.rollout(z0, batch["actions"])], dim=1)  # (n, H+1, D)
    flat = latents.flatten(0, 1)
    decoded = torch.cat([probe(flat[i:i + chunk]).clamp(0, 1) for i in range(0, len(flat), chunk)])
    truth = batch["obs"].flatten(0, 1).float().div(255).permute(0, 3, 1, 2).to(decoded.device)
    blank = probe.mean_frame.expand_as(truth)
    fg = ((truth - blank).abs().amax(dim=1, keepdim=True) > 0.1).float()  # (N, 1, H, W)
    shape = latents.shape[:2]

    def fg_mean(err: torch.Tensor) -> torch.Tensor:  # (N, C, H, W) -> (H+1,), over foreground pixels
        per_frame = (err.mean(1, keepdim=True) * fg).sum(dim=(1, 2, 3)).view(shape).sum(0)
        return (per_frame / fg.sum(dim=(1, 2, 3)).view(shape).sum(0).clamp_min(1)).cpu()

    err = (decoded - truth).pow(2)
    return {"mse": err.mean(dim=(1, 2, 3)).view(shape).mean(0).cpu(), "fg_mse": fg_mean(err),
            "fg_mse_blank": fg_mean((blank - truth).pow(2))}
