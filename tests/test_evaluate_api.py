"""The evaluation API: shards, worker processes, results files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from agents.config import PlanConfig
from agents.evaluate import EvalResult, evaluate
from agents.factory import build_agent
from envs.registration import make_env
from tests.test_agents import random_model


def toward_goal(obs, goal):  # module level: picklable for worker processes
    return np.clip(5 * (goal[:2] - obs[:2]), -1, 1).astype(np.float32)


def records(result: EvalResult) -> list[tuple]:
    """Everything about the episodes except timings."""
    return [(e.index, e.seed, e.success, e.final_distance, e.steps, len(e.plan_ms)) for e in result.episodes]


def test_a_shard_gives_exactly_the_records_of_the_full_run():
    full = evaluate(toward_goal, "wm/TwoRoom-v0", 6, seed=11, max_steps=30, progress=False)
    part = evaluate(toward_goal, "wm/TwoRoom-v0", 6, seed=11, max_steps=30, progress=False, indices=[4, 1])
    assert records(part) == [records(full)[1], records(full)[4]]
    assert records(EvalResult.merge([part, evaluate(toward_goal, "wm/TwoRoom-v0", 6, seed=11, max_steps=30,
                                                     progress=False, indices=[0, 2, 3, 5])])) == records(full)


def test_two_worker_processes_equal_one_process():
    env = make_env("wm/TwoRoom-v0")
    plan = PlanConfig(samples=16, iterations=2, elites=4, horizon=3)
    agent = build_agent("mpc", plan, env.action_space, random_model())
    kw = {"env_id": "wm/TwoRoom-v0", "episodes": 4, "seed": 3, "max_steps": 12, "progress": False}
    one, two = evaluate(agent, **kw), evaluate(agent, workers=2, **kw)
    assert records(two) == records(one)
    assert [e.index for e in two.episodes] == [0, 1, 2, 3]


def test_workers_need_a_picklable_agent():
    with pytest.raises(ValueError, match="picklable"):
        evaluate(lambda obs, goal: obs[:2] * 0, "wm/TwoRoom-v0", 2, workers=2, progress=False)


def test_out_dir_gets_results_json_and_a_table(tmp_path):
    result = evaluate(toward_goal, "wm/TwoRoom-v0", 3, seed=0, max_steps=10, name="greedy", progress=False,
                      out_dir=tmp_path / "greedy", meta={"planner": None})
    body = json.loads((tmp_path / "greedy" / "results.json").read_text())
    assert body["agent"] == "greedy" and body["episodes"] == 3
    assert [e["index"] for e in body["per_episode"]] == [0, 1, 2]
    assert body["success_rate"] == result.success_rate
    assert "| greedy | - | - |" in (tmp_path / "greedy" / "results.md").read_text()


def test_merge_refuses_overlapping_shards():
    a = evaluate(toward_goal, "wm/TwoRoom-v0", 2, max_steps=5, progress=False, indices=[0, 1])
    with pytest.raises(ValueError, match="overlap"):
        EvalResult.merge([a, a])
