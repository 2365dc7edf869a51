"""The state probe's pixel ceilings: a CNN, and the encoder architecture, read a drawn position, not noise."""

from __future__ import annotations

import numpy as np

from benchmarks.state_probe import cnn_r2, encoder_r2
from worldmodel.config import ModelConfig


def square_frames(n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    """16x16 frames of a square whose column is the first target; the second target is noise."""
    rng = np.random.default_rng(0)
    pos = rng.integers(2, 14, size=n)
    frames = np.zeros((n, 16, 16, 3), dtype=np.uint8)
    for i, p in enumerate(pos):
        frames[i, 6:10, p - 2:p + 2] = 255  # a square whose column is the first target
    return frames, np.c_[pos.astype(np.float32), rng.normal(size=n)]


def test_pixel_ceiling_reads_what_the_frames_show_and_not_noise():
    r2 = cnn_r2(*square_frames(), steps=400)
    assert r2[0] > 0.8 and r2[1] < 0.2


def test_encoder_ceiling_trains_the_configured_architecture_to_read_the_frames():
    cfg = ModelConfig(encoder="cnn", channels=4, latent_dim=8, hidden_dim=32)
    r2 = encoder_r2(cfg, *square_frames(), steps=400)
    assert r2[0] > 0.8 and r2[1] < 0.2
