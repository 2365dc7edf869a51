"""The plan-optimism probe: every plan latent MPC executes, scored by the predictor and by the simulator."""

from __future__ import annotations

import json
import math

from benchmarks import plan_optimism
from wm.cli import main


def test_probe_scores_every_plan_of_every_episode(tmp_path, tiny_overrides):
    run = tmp_path / "run"
    sets = [x for o in tiny_overrides for x in ("--set", o)]
    assert main(["collect", "--out", str(run), "--quiet", *sets]) == 0
    assert main(["train", "--out", str(run), "--quiet", *sets]) == 0
    out = tmp_path / "optimism.json"
    plan_optimism.main([str(run), "--episodes", "2", "--seed", "0", "--out", str(out)])
    rec = json.loads(out.read_text())["runs"][0]
    assert rec["episodes"] == 2 and len(rec["episode_records"]) == 2
    for ep in rec["episode_records"]:
        # eval.max_steps 15, a plan every frameskip (5) env steps
        assert ep["plans"] == len(ep["scores"]) == 3
        assert all(math.isfinite(v) and v >= 0 for s in ep["scores"] for v in s.values())
        assert 0.0 <= ep["illusory_fraction"] <= 1.0
    assert rec["successes"] + sum(not e["success"] for e in rec["episode_records"]) == 2


def test_offset_episodes_start_on_a_trajectory_and_run_the_offset_budget(tmp_path, tiny_overrides):
    run = tmp_path / "run"
    sets = [x for o in tiny_overrides for x in ("--set", o)]
    assert main(["collect", "--out", str(run), "--quiet", *sets]) == 0
    assert main(["train", "--out", str(run), "--quiet", *sets, "--set", "eval.offset_budget=10"]) == 0
    rec = plan_optimism.probe_run(run, 2, seed=0, protocol="offset")
    assert rec["protocol"] == "offset"
    # the run's offset budget (10 env steps), a plan every 5: at most 2 plans (fewer once a goal is reached)
    assert all(1 <= e["plans"] <= 2 for e in rec["episode_records"])
