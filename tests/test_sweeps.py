"""Planner sweeps and their plots."""

from __future__ import annotations

import imageio.v2 as imageio

from agents.config import PlanConfig
from agents.factory import build_agent
from agents.plots import line_plot
from agents.sweeps import budget_plan, plan_times, success_sweep
from envs.registration import make_env


def _oracle(plan: PlanConfig):
    return build_agent("oracle", plan, make_env("wm/TwoRoom-v0").action_space, frameskip=5)


def test_budget_plan_keeps_elites_valid():
    plan = budget_plan(PlanConfig(), 10, 3)
    assert (plan.samples, plan.iterations, plan.elites) == (10, 3, 2)
    assert budget_plan(PlanConfig(), 300, 10).elites == 30


def test_success_sweep_and_plan_times_record_each_point():
    plans = [budget_plan(PlanConfig(horizon=4), s, 2) for s in (4, 16)]
    rows = success_sweep(_oracle, plans, "wm/TwoRoom-v0", 2, 0, {"same_room": True})
    assert [r["budget"] for r in rows] == [8, 32]
    assert all(0 <= r["success_rate"] <= 1 and r["episodes"] == 2 for r in rows)
    times = plan_times(_oracle, plans, "wm/TwoRoom-v0", 2, 0)
    assert [t["samples"] for t in times] == [4, 16] and all(t["plan_ms_median"] > 0 for t in times)


def test_line_plot_writes_a_png(tmp_path):
    rows = [{"budget": b, "success_rate": r, "success_ci95": [max(0, r - 0.2), min(1, r + 0.1)], "planner": p}
            for p, rates in (("cem", (0.2, 0.6, 0.9)), ("gd", (0.1, 0.2, 0.3)))
            for b, r in zip((100, 1000, 3000), rates, strict=True)]
    path = line_plot(rows, "budget", "success_rate", "planner", tmp_path / "p.png", xlabel="budget",
                     ylabel="success", title="t", logx=True)
    image = imageio.imread(path)
    assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 300
    assert image.std() > 10  # not a blank canvas
