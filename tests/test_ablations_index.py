"""The ablation index: one row per run, protocol and agent, and the shipped INDEX.md is current."""

from __future__ import annotations

import json

from benchmarks import ablations_index
from benchmarks.ablations_index import ROOT, rows


def _result(agent: str, rate: float, episodes: int, dirty: bool | None, protocol: str | None = None) -> dict:
    body = {"agent": agent, "success_rate": rate, "episodes": episodes, "success_ci95": [0.1, 0.5],
            "git_commit": "0123456789abcdef"}
    if dirty is not None:
        body["git_dirty"] = dirty
    if protocol is not None:
        body["protocol"] = protocol
    return body


def test_rows_count_wins_and_flag_how_the_commit_was_recorded(tmp_path):
    run = tmp_path / "some_run"
    run.mkdir()
    (run / "task-mpc.json").write_text(json.dumps(_result("mpc", 0.3, 50, False)))
    (run / "offset-mpc.json").write_text(json.dumps(_result("mpc", 0.5, 20, True, "offset")))
    (run / "task-random.json").write_text(json.dumps(_result("random", 0.0, 50, None)))
    (run / "train_metrics.json").write_text(json.dumps({"collapse/eff_rank": 12.34, "probe/r2_mean": 0.655,
                                                         "probe/r2_dim0": 1.0, "probe/r2_dim1": 0.9}))
    out = rows(run)
    assert len(out) == 3  # train_metrics.json is not a result
    by_agent = {(line.split(" | ")[1], line.split(" | ")[2]): line for line in out}
    assert "0.50 (10/20)" in by_agent[("offset", "mpc")] and "0123456+dirty" in by_agent[("offset", "mpc")]
    assert "0.30 (15/50)" in by_agent[("task", "mpc")] and "| 0123456 |" in by_agent[("task", "mpc")]
    assert "0123456+?" in by_agent[("task", "random")]
    assert all("rank 12.3, probe R^2 0.66 (dims 0-1: 0.95)" in line for line in out)


def test_a_run_without_training_metrics_has_an_empty_latent_column(tmp_path):
    run = tmp_path / "oracle_only"
    run.mkdir()
    (run / "task-oracle.json").write_text(json.dumps(_result("oracle", 1.0, 10, False)))
    assert rows(run) == ["| oracle_only | task | oracle | - | 1.00 (10/10) | [0.10, 0.50] |  | 0123456 |"]


def test_the_plan_column_names_the_planner_and_its_budget():
    plan = {"planner": "cem", "samples": 200, "iterations": 5, "horizon": 6, "refine_steps": 10}
    assert ablations_index.plan_label({"agent": "mpc", "plan": plan}) == "cem 200x5 h6"
    assert ablations_index.plan_label({"agent": "mpc", "plan": {**plan, "planner": "cem_gd"}}) == "cem_gd 200x5+10 h6"
    assert ablations_index.plan_label({"agent": "mpc", "plan": {**plan, "planner": "gd", "lr": 0.03}}) == \
        "gd 200x5 h6 lr 0.03"
    assert ablations_index.plan_label({"agent": "random", "plan": plan}) == "-"
    assert ablations_index.plan_label({"agent": "mpc"}) == "-"


def test_the_shipped_index_is_what_the_generator_prints(capsys):
    ablations_index.main()
    printed = capsys.readouterr().out
    assert printed == (ROOT / "INDEX.md").read_text(), \
        "regenerate: python -m benchmarks.ablations_index > benchmarks/results/ablations/INDEX.md"
