"""The velocity probe's pieces: rows with enough history, held-out R^2 of an MLP probe."""

from __future__ import annotations

import numpy as np

from benchmarks.velocity_probe import mlp_r2, sample_rows


def test_sampled_rows_have_their_history_inside_the_episode():
    lengths = np.array([5, 8, 6])
    rows, eps = sample_rows(lengths, back=4, n=200)
    starts = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]])
    assert ((rows - 4) >= starts[eps]).all() and (rows <= starts[eps] + lengths[eps]).all()


def test_probe_r2_separates_signal_from_noise():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(800, 3))
    y = np.c_[np.sin(x[:, 0]) + x[:, 1] ** 2, rng.normal(size=800)]  # a function of x, and pure noise
    r2 = mlp_r2(x, y, steps=600)
    assert r2[0] > 0.9 and r2[1] < 0.2
