"""`benchmarks.reeval`: a row's latent evaluation re-run from its checkpoint, compared episode by episode."""

from __future__ import annotations

import json

import pytest

from benchmarks.reeval import check_row, compare, main
from wm.cli import main as wm_main
from wm.reeval_report import reeval_markdown


def _sets(overrides):
    return [x for o in overrides for x in ("--set", o)]


@pytest.fixture(scope="module")
def tiny_row(tmp_path_factory):
    """A trained tiny TwoRoom run evaluated under both protocols, and a results row naming it."""
    from tests.conftest import TINY

    run = tmp_path_factory.mktemp("reevalrun")
    sets = _sets([*TINY, "eval.episodes=3", "eval.agents=[mpc]", "eval.offset_agents=[mpc]",
                  "eval.protocols=[task,offset]"])
    for verb in ("collect", "train", "eval"):
        assert wm_main([verb, "--out", str(run), "--quiet", *sets]) == 0
    rates = {}
    for path in (run / "eval").rglob("results.json"):
        body = json.loads(path.read_text())
        rates[body.get("protocol", "task")] = body["success_rate"]
    row = {"name": "tiny", "run_dir": str(run), "git_commit": "abc",
           "agents": {"mpc": {"success_rate": rates["task"]}}, "offset": {"mpc": {"success_rate": rates["offset"]}}}
    return run, row


def test_compare_matches_episodes_by_seed_and_counts_exact_ones():
    a = [{"seed": s, "success": s % 2 == 0, "final_distance": 0.1 * s, "steps": 10} for s in range(4)]
    b = [dict(e) for e in reversed(a)]
    assert compare(a, b) == {"episodes": 4, "identical": 4, "success_shipped": 2, "success_now": 2}
    b[0]["final_distance"] += 1e-12  # seed 3: any change in the outcome counts
    b[2]["success"] = True  # seed 1
    assert compare(a, b) == {"episodes": 4, "identical": 2, "success_shipped": 2, "success_now": 3}


def test_a_row_reproduces_itself_and_a_changed_record_is_caught(tiny_row, tmp_path):
    run, row = tiny_row
    records = check_row(row, [])
    assert {r["protocol"] for r in records} == {"task", "offset"}
    assert all(r["status"] == "identical" and r["identical"] == r["episodes"] == 3 for r in records)
    shipped = next(p for p in (run / "eval").rglob("results.json") if "offset" not in p.parts)
    original = shipped.read_text()
    body = json.loads(original)
    body["per_episode"][0]["steps"] += 1
    shipped.write_text(json.dumps(body))
    try:
        task = next(r for r in check_row(row, []) if r["protocol"] == "task")
    finally:
        shipped.write_text(original)
    assert task["status"] == "differs" and task["identical"] == 2


def test_rows_without_their_run_or_with_another_evaluation_are_skipped(tiny_row, tmp_path):
    _, row = tiny_row
    gone = check_row({**row, "run_dir": str(tmp_path / "nowhere")}, [])
    assert len(gone) == 1 and gone[0]["status"].startswith("skipped: no run directory")
    other = {**row, "agents": {"mpc": {"success_rate": row["agents"]["mpc"]["success_rate"] + 0.5}}}
    task = next(r for r in check_row(other, []) if r.get("protocol") == "task")
    assert task["status"].startswith("skipped") and "not the row's evaluation" in task["status"]


def test_cli_writes_the_artifact_with_the_overrides(tiny_row, tmp_path):
    _, row = tiny_row
    results = tmp_path / "results"
    results.mkdir()
    (results / "tiny.json").write_text(json.dumps(row))
    (results / "plan_speed.json").write_text(json.dumps({"runs": []}))  # not a row: ignored
    out = tmp_path / "reeval.json"
    main(["--results-dir", str(results), "--out", str(out), "--set", "plan.iterations=1"])
    body = json.loads(out.read_text())
    assert body["overrides"] == ["plan.iterations=1"] and {r["name"] for r in body["rows"]} == {"tiny"}
    assert body["machine"]["git_commit"] and body["threads"] >= 1


def test_report_renders_the_rerun_and_the_bf16_comparison(tmp_path):
    rec = {"name": "tiny", "row_commit": "abc1234567", "protocol": "task", "episodes": 50, "identical": 50,
           "success_shipped": 20, "success_now": 20, "plan_ms_median_now": 22.34}
    machine = {"git_commit": "def9876543210", "cpu": "Fake CPU", "date": "2026-01-01"}
    skipped = {"name": "gone", "row_commit": "x", "status": "skipped: no run directory"}
    assert reeval_markdown(tmp_path) == ""
    (tmp_path / "reeval.json").write_text(json.dumps({"machine": machine, "rows": [rec, skipped]}))
    md = reeval_markdown(tmp_path)
    assert "| tiny | task | `abc1234567` | 50 / 50 | 20, 20 |" in md and "(skipped): gone." in md
    assert "bfloat16" not in md  # needs both files
    bf16 = {**rec, "success_now": 23, "plan_ms_median_now": 17.6}
    (tmp_path / "reeval_bf16.json").write_text(json.dumps({"machine": machine, "rows": [bf16]}))
    md = reeval_markdown(tmp_path)
    assert "| tiny | task | 20 / 50 | 23 / 50 | 22.3 | 17.6 |" in md and "thread(s)" not in md  # not recorded
    for name in ("reeval.json", "reeval_bf16.json"):
        body = json.loads((tmp_path / name).read_text())
        (tmp_path / name).write_text(json.dumps({**body, "threads": 1}))
    assert "each alone on 1 thread(s)" in reeval_markdown(tmp_path)
