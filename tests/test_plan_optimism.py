"""The plan-optimism probe: every plan latent MPC executes, scored by the predictor and by the simulator."""

from __future__ import annotations

import json
import math

import pytest

from benchmarks import plan_optimism
from wm.cli import main


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, tiny_overrides):
    """A tiny trained TwoRoom run (state): task episodes of 15 steps, an offset budget of 10."""
    run = tmp_path_factory.mktemp("optimism") / "run"
    sets = [x for o in [*tiny_overrides, "eval.offset_budget=10"] for x in ("--set", o)]
    assert main(["collect", "--out", str(run), "--quiet", *sets]) == 0
    assert main(["train", "--out", str(run), "--quiet", *sets]) == 0
    return run


def test_probe_scores_every_plan_of_every_episode(tiny_run, tmp_path):
    out = tmp_path / "optimism.json"
    plan_optimism.main([str(tiny_run), "--episodes", "2", "--seed", "0", "--out", str(out)])
    rec = json.loads(out.read_text())["runs"][0]
    assert rec["episodes"] == 2 and len(rec["episode_records"]) == 2
    for ep in rec["episode_records"]:
        # eval.max_steps 15, a plan every frameskip (5) env steps
        assert ep["plans"] == len(ep["scores"]) == 3
        assert all(math.isfinite(v) and v >= 0 for s in ep["scores"] for v in s.values())
        assert 0.0 <= ep["illusory_fraction"] <= 1.0
    assert rec["successes"] + sum(not e["success"] for e in rec["episode_records"]) == 2


def test_offset_episodes_start_on_a_trajectory_and_run_the_offset_budget(tiny_run):
    rec = plan_optimism.probe_run(tiny_run, 2, seed=0, protocol="offset")
    assert rec["protocol"] == "offset"
    # the run's offset budget (10 env steps), a plan every 5: at most 2 plans (fewer once a goal is reached)
    assert all(1 <= e["plans"] <= 2 for e in rec["episode_records"])
