"""Pixel-space prediction error by horizon through the decoder probe, on known inputs."""

from __future__ import annotations

import torch

from worldmodel.config import ModelConfig
from worldmodel.data import WindowSampler
from worldmodel.decoder_probe import DecoderProbe
from worldmodel.model import WorldModel
from worldmodel.pixel_diagnostics import pixel_error_by_horizon


def test_a_blank_probe_scores_the_mean_frame_at_every_horizon(tiny_pixel_data):
    torch.manual_seed(0)
    model = WorldModel(ModelConfig(encoder="cnn", latent_dim=8, hidden_dim=32, frameskip=2, channels=8), (32, 32, 3), 2)
    probe = DecoderProbe(8, (32, 32, 3))
    frames = torch.as_tensor(tiny_pixel_data.obs).float().div(255).permute(0, 3, 1, 2)
    probe.mean_frame.copy_(frames.mean(0))
    with torch.no_grad():
        for p in probe.net.parameters():
            p.zero_()  # decodes every latent to the mean frame
    windows = WindowSampler(tiny_pixel_data, steps=3, frameskip=2)
    out = pixel_error_by_horizon(model, probe, windows, n=64)
    assert out["mse"].shape == out["fg_mse"].shape == (4,)
    torch.testing.assert_close(out["fg_mse"], out["fg_mse_blank"])
    batch = windows.sample(64, torch.Generator().manual_seed(0))
    truth = batch["obs"].float().div(255).permute(0, 1, 4, 2, 3)
    expected = (truth - probe.mean_frame).pow(2).mean(dim=(0, 2, 3, 4))
    torch.testing.assert_close(out["mse"], expected)
    assert (out["fg_mse_blank"] > 0.1).all()  # the red disc on grey is far from the mean frame
