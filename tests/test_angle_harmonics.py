"""The angle-harmonics probe's targets: sin/cos of k times the angle read from a state's sin, cos columns."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.angle_harmonics import harmonic_targets
from benchmarks.velocity_probe import mlp_r2


@settings(max_examples=50, deadline=None)
@given(theta=st.floats(-np.pi, np.pi), scale=st.floats(0.1, 10.0))
def test_targets_are_the_harmonics_of_the_angle_in_the_two_columns(theta, scale):
    states = np.array([[7.0, scale * np.sin(theta), -1.0, scale * np.cos(theta)]])  # the norm is ignored
    y = harmonic_targets(states, sin_col=1, cos_col=3, harmonics=3)
    expect = [f(k * theta) for k in (1, 2, 3) for f in (np.sin, np.cos)]
    np.testing.assert_allclose(y[0], expect, atol=1e-9)


def test_a_latent_that_holds_the_angle_modulo_120_degrees_reads_only_the_third_harmonic():
    theta = np.random.default_rng(0).uniform(-np.pi, np.pi, 2000)
    states = np.c_[np.sin(theta), np.cos(theta)]
    z = np.c_[np.sin(3 * theta), np.cos(3 * theta)]  # a three-armed shape's orientation
    r2 = mlp_r2(z, harmonic_targets(states, 0, 1, 3), steps=1500)
    assert r2[4] > 0.95 and r2[5] > 0.95  # sin 3 theta, cos 3 theta
    assert max(r2[:4]) < 0.1  # k = 1, 2: not determined by 3 theta
