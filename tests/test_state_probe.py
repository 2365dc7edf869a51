"""The state probe's pixel ceiling: a CNN reads a drawn position from frames, not noise."""

from __future__ import annotations

import numpy as np

from benchmarks.state_probe import cnn_r2


def test_pixel_ceiling_reads_what_the_frames_show_and_not_noise():
    rng = np.random.default_rng(0)
    n = 600
    pos = rng.integers(2, 14, size=n)
    frames = np.zeros((n, 16, 16, 3), dtype=np.uint8)
    for i, p in enumerate(pos):
        frames[i, 6:10, p - 2:p + 2] = 255  # a square whose column is the first target
    y = np.c_[pos.astype(np.float32), rng.normal(size=n)]
    r2 = cnn_r2(frames, y, steps=400)
    assert r2[0] > 0.8 and r2[1] < 0.2
