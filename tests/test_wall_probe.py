"""The random-wall probe: episodes classified by where they end, held pushes, blocked transitions."""

from __future__ import annotations

import json
import sys

import h5py
import numpy as np
import pytest
import torch

from benchmarks import wall_probe
from tests.envs_helpers import StillAgent
from wm.cli import main


@pytest.fixture(scope="module")
def wall_run(tmp_path_factory, tiny_overrides):
    """A tiny trained random-wall TwoRoom run (state)."""
    run = tmp_path_factory.mktemp("wall") / "run"
    sets = [x for o in [*tiny_overrides, "env.id=wm/TwoRoomRandomWall-v0", "data.episodes=20"]
            for x in ("--set", o)]
    assert main(["collect", "--out", str(run), "--quiet", *sets]) == 0
    assert main(["train", "--out", str(run), "--quiet", *sets]) == 0
    return run


def test_the_probe_reads_a_signal_the_latent_holds_and_not_noise():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(2000, 8, generator=g) * 3 + 1
    xy = (z[:, :2].numpy() * 0.1 - 0.2).astype(np.float32)
    probe = wall_probe.fit_probe(z, xy, steps=600)
    with torch.no_grad():
        err = float((probe(z) - torch.as_tensor(xy)).abs().mean())
    assert err < 0.1 * float(np.abs(xy - xy.mean(0)).mean())


def test_transitions_pair_each_row_with_the_state_a_model_step_later(wall_run):
    path = wall_run / "data" / "dataset.h5"
    tr = wall_probe.transitions(path, frameskip=5, samples=50)
    with h5py.File(path, "r") as f:
        states = f["states"][:]
    assert np.array_equal(tr["next_rows"], tr["rows"] + 5)
    assert np.array_equal(tr["xy"], states[tr["rows"], :2])
    assert np.array_equal(tr["next_xy"], states[tr["next_rows"], :2])
    assert tr["actions"].shape == (len(tr["rows"]), 5 * 2) and tr["blocked"].dtype == bool
    assert 0.0 <= tr["blocked_fraction"] <= 1.0 and (~tr["blocked"]).sum() == 50  # plenty of free transitions
    assert np.array_equal(wall_probe.transitions(path, 5, 50)["rows"], tr["rows"])  # seeded


def test_a_held_push_into_the_wall_is_stopped_by_the_simulator(wall_run):
    import wm

    env, model = wm.make_env(wall_run), wm.load_model(wall_run)
    still = wall_probe.run_episode(StillAgent(), env, 100001)
    assert not still["crossed"] and not still["success"]
    # the goal across the wall, the start 5 cm before it and well away from the door: a push along x is blocked
    side = -np.sign(still["goal"][0] - still["wall_x"])
    y = still["door_y"] - 0.6 if still["door_y"] > 0 else still["door_y"] + 0.6
    ep = {**still, "end": [still["wall_x"] + side * 0.05, y]}
    probe = torch.nn.Linear(wm.load_run_config(wall_run).model.latent_dim, 2)
    push = wall_probe.push_test(model, env, probe, ep, steps=3, magnitude=1.0)
    assert len(push["pred_x"]) == len(push["true_x"]) == 3
    assert not push["true_crosses"]
    assert all(np.sign(x - still["wall_x"]) == side for x in push["true_x"])
    assert push["start_x"] == ep["end"][0]


def test_a_probed_run_accounts_for_every_episode_and_push(wall_run, tmp_path, monkeypatch):
    out = tmp_path / "wall.json"
    monkeypatch.setattr(sys, "argv", ["wall_probe", str(wall_run), "--episodes", "3", "--steps", "2",
                                      "--samples", "400", "--out", str(out)])
    wall_probe.main()
    rec = json.loads(out.read_text())
    assert rec["steps"] == 2 and rec["git_commit"]
    r = rec["runs"][0]
    eps = r["episode_records"]
    assert len(eps) == r["episodes"] == 3 and r["successes"] == sum(e["success"] for e in eps)
    fails = [e for e in eps if not e["success"]]
    assert r["failures_crossed"] == sum(e["crossed"] for e in fails)
    assert len(r["pushes"]) == r["failures_against_wall"] == sum(e["against_wall"] for e in eps)
    for e in eps:  # an episode against the wall failed, stayed on its start side and ended near the wall
        assert not e["against_wall"] or (not e["success"] and not e["crossed"]
                                         and abs(e["end"][0] - e["wall_x"]) < wall_probe.WALL_MARGIN)
    for p in r["pushes"]:
        assert len(p["pred_x"]) == len(p["true_x"]) == 2
    assert r["data"]["n_free"] > 0
