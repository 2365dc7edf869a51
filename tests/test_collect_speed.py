"""The collection-speed benchmark: frames counted from the written file, and Push-T block contact."""

from __future__ import annotations

import pytest

from benchmarks.collect_speed import collection_rate, contact_fraction


def test_collection_rate_counts_every_recorded_observation():
    r = collection_rate("wm/TwoRoom-v0", "state", "random_walk", workers=1, episodes=2, steps=10)
    assert r["frames"] == 2 * (10 + 1)  # each episode records its reset observation and one per step
    assert r["wall_s"] > 0 and r["frames_per_s"] == pytest.approx(r["frames"] / r["wall_s"])
    assert r["file_mb"] > 0 and (r["env"], r["obs"], r["workers"]) == ("wm/TwoRoom-v0", "state", 1)


def test_scripted_pushes_move_the_block_where_random_torques_barely_do():
    scripted = contact_fraction("scripted", episodes=2, steps=30)
    uniform = contact_fraction("uniform", episodes=2, steps=30)
    assert 0.0 < scripted <= 1.0 and 0.0 <= uniform <= 1.0
    assert scripted > uniform
    assert contact_fraction("scripted", episodes=2, steps=30) == scripted  # seeded
