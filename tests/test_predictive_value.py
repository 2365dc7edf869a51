"""The predictive-value diagnostic: windows stay inside episodes, angle changes wrap, and a dropped
variable that drives the dynamics shows a gain where one that does not shows none."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from benchmarks.predictive_value import body_frame, future_change, load, measure, parse_columns, target_names, windows


def test_windows_stay_inside_their_episode():
    lengths = np.array([4, 7, 3])
    s_rows, a_rows = windows(lengths, k=3, stride=1)
    s_starts = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]])
    a_starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    ep = np.searchsorted(s_starts, s_rows, side="right") - 1
    assert len(s_rows) == (4 - 2) + (7 - 2) + (3 - 2)
    assert (s_rows + 3 <= s_starts[ep] + lengths[ep]).all()          # the later state is in the episode
    assert (a_rows - a_starts[ep] == s_rows - s_starts[ep]).all()     # actions aligned with their states


def test_angle_change_wraps_and_replaces_its_sin_cos_pair():
    a0, a1 = np.pi - 0.1, -np.pi + 0.1  # a 0.2 rad turn across the branch cut
    states = np.array([[1.0, np.sin(a0), np.cos(a0)], [1.5, np.sin(a1), np.cos(a1)]])
    y = future_change(states, np.array([0]), 1, angle=(1, 2))
    assert y.shape == (1, 2)
    assert y[0, 0] == pytest.approx(0.5) and y[0, 1] == pytest.approx(0.2)
    assert target_names(3, (1, 2)) == ["d_state0", "d_angle"]


def _dataset(path: Path, rng: np.random.Generator) -> Path:
    """States (x, h, noise): x moves by the action times h (h drives the dynamics), noise is inert."""
    lengths = np.full(40, 20)
    states, actions = [], []
    for _ in lengths:
        x, h = 0.0, rng.choice([-1.0, 1.0])
        for _t in range(21):
            states.append([x, h, rng.normal()])
            if _t < 20:
                a = rng.uniform(-1, 1)
                actions.append([a])
                x += a * h
    with h5py.File(path, "w") as f:
        f["episode_lengths"], f["states"] = lengths, np.asarray(states, np.float32)
        f["actions"] = np.asarray(actions, np.float32)
    return path


def test_a_variable_that_drives_the_dynamics_has_predictive_value(tmp_path):
    data = load(_dataset(tmp_path / "d.h5", np.random.default_rng(0)))
    driver = measure(data, k=1, drop=[1], angle=None, samples=600, steps=500, turn=0.3)
    inert = measure(data, k=1, drop=[2], angle=None, samples=600, steps=500, turn=0.3)
    assert driver["r2_gain"][0] > 0.5       # x's change needs h
    assert abs(inert["r2_gain"][0]) < 0.1   # ... and not the noise column


def test_columns_parse():
    assert parse_columns("4,5") == [4, 5] and parse_columns(None) == [] and parse_columns("") == []


def test_body_frame_turns_the_point_and_actions_into_the_body_axes():
    theta = np.pi / 2  # body turned a quarter: its x axis points along world y
    states = np.array([[1.0, 2.0, 1.0, 1.0, np.sin(theta), np.cos(theta)]])
    actions = np.array([[[0.0, 1.0]]])  # one action along world y
    out = body_frame(states, actions, angle=(4, 5), body=(2, 3), point=(0, 1))
    assert out.shape == (1, 4)
    assert np.allclose(out[0], [1.0, 0.0, 1.0, 0.0], atol=1e-9)  # both along the body's x axis
