"""The angle probe's error measure: radians through atan2, wrapped, against a tolerance; and its fitter."""

from __future__ import annotations

import numpy as np
import torch

from benchmarks.angle_probe import angle_errors
from benchmarks.state_probe import fit_predict


def cos_sin(q: np.ndarray) -> np.ndarray:
    """``(N, J)`` angles -> ``(N, 2J)`` states ``cos q_1..q_J, sin q_1..q_J`` (Reacher's column order)."""
    return np.c_[np.cos(q), np.sin(q)]


def test_exact_prediction_has_no_error_and_all_frames_within_tolerance():
    q = np.random.default_rng(0).uniform(-np.pi, np.pi, size=(200, 2))
    out = angle_errors(cos_sin(q), cos_sin(q), [(0, 2), (1, 3)], tol=0.05)
    assert all(j["median_rad"] < 1e-6 and j["within_tol"] == 1.0 for j in out)


def test_errors_are_in_radians_wrapped_across_pi_and_scale_invariant():
    q = np.full((100, 1), np.pi - 0.01)
    pred = 3.0 * cos_sin(q + np.r_[[0.02] * 50, [0.2] * 50][:, None])  # wraps past pi; norm 3 is ignored
    (j,) = angle_errors(pred, cos_sin(q), [(0, 1)], tol=0.05)
    assert abs(j["median_rad"] - 0.11) < 1e-3  # halfway between 0.02 and 0.2
    assert abs(j["p90_rad"] - 0.2) < 1e-3 and j["within_tol"] == 0.5


def test_fit_predict_learns_a_readable_target_on_held_out_rows():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(800, 4)).astype(np.float32)
    y = np.c_[x[:, 0] * 2.0 + 1.0, rng.normal(size=800)].astype(np.float32)
    net = torch.nn.Sequential(torch.nn.Linear(4, 32), torch.nn.GELU(), torch.nn.Linear(32, 2))
    pred = fit_predict(net, torch.as_tensor(x), y, train=0.75, steps=400)
    assert pred.shape == (200, 2)
    assert np.corrcoef(pred[:, 0], y[600:, 0])[0, 1] > 0.95  # the signal is read ...
    assert abs(np.corrcoef(pred[:, 1], y[600:, 1])[0, 1]) < 0.3  # ... the noise is not
