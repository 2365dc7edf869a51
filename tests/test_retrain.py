"""`benchmarks.retrain`: the start of a row's training re-run at this commit, compared scalar by scalar."""

from __future__ import annotations

import json
import math

import pytest
import torch

from benchmarks.retrain import check_row, compare_scalars, main
from wm.cli import main as wm_main
from wm.reeval_report import reeval_markdown


@pytest.fixture(scope="module")
def tiny_row(tmp_path_factory):
    """A trained tiny TwoRoom run and a results row naming it."""
    from tests.conftest import TINY

    run = tmp_path_factory.mktemp("retrainrun")
    sets = [x for o in TINY for x in ("--set", o)] + ["--set", "train.threads=1"]
    for verb in ("collect", "train"):
        assert wm_main([verb, "--out", str(run), "--quiet", *sets]) == 0
    return run, {"name": "tiny", "run_dir": str(run), "git_commit": "abc"}


def test_compare_scalars_counts_exact_matches_and_names_the_first_difference():
    row = {("train/loss", 5): 1.0, ("train/loss", 10): 0.5, ("reg/var", 10): math.nan, ("train/lr", 15): 0.1}
    now = {("train/loss", 5): 1.0, ("train/loss", 10): 0.5 + 1e-7, ("reg/var", 10): math.nan}
    got = compare_scalars(row, now)
    assert got["scalars"] == 4 and got["logged_now"] == 3 and got["identical"] == 2
    assert got["first_difference"] == {"tag": "train/loss", "step": 10}
    assert got["max_abs_diff"] == pytest.approx(1e-7)
    assert compare_scalars(row, dict(row))["first_difference"] is None


def test_a_row_retrains_identically_and_a_changed_recipe_is_caught(tiny_row, tmp_path):
    run, row = tiny_row
    threads = torch.get_num_threads()
    rec = check_row(row, steps=15)
    assert torch.get_num_threads() == threads  # the row's thread count is not left behind
    assert rec["status"] == "identical" and rec["threads"] == 1 and rec["threads_recorded"]
    assert rec["scalars"] >= 6 and rec["identical"] == rec["scalars"] and rec["max_abs_diff"] == 0.0
    config = run / "config.yaml"
    original = config.read_text()
    config.write_text(original.replace("\n  lr: 0.001\n", "\n  lr: 0.002\n", 1))
    assert config.read_text() != original, "the tiny config's learning rate moved; update this test"
    try:
        changed = check_row(row, steps=15)
    finally:
        config.write_text(original)
    assert changed["status"] == "differs" and changed["first_difference"]["step"] == 5


def test_rows_without_their_run_are_skipped_and_the_cli_writes_the_artifact(tiny_row, tmp_path):
    _, row = tiny_row
    gone = check_row({**row, "run_dir": str(tmp_path / "nowhere")}, steps=5)
    assert gone["status"].startswith("skipped: no run directory")
    results = tmp_path / "results"
    results.mkdir()
    (results / "tiny.json").write_text(json.dumps(row))
    (results / "plan_speed.json").write_text(json.dumps({"runs": []}))  # not a row: ignored
    out = tmp_path / "retrain.json"
    main(["--results-dir", str(results), "--out", str(out), "--steps", "5"])
    body = json.loads(out.read_text())
    assert [r["name"] for r in body["rows"]] == ["tiny"] and body["rows"][0]["status"] == "identical"
    assert body["machine"]["git_commit"]
    with pytest.raises(SystemExit):
        main(["--results-dir", str(results), "--out", str(out), "--steps", "0"])


def test_report_renders_the_training_rerun_beside_the_evaluation_rerun(tmp_path):
    machine = {"git_commit": "def9876543210", "cpu": "Fake CPU", "date": "2026-01-01"}
    (tmp_path / "reeval.json").write_text(json.dumps({"machine": machine, "rows": []}))
    assert "Training re-run" not in reeval_markdown(tmp_path)
    recs = [{"name": "a", "row_commit": "abc1234567", "threads": 2, "threads_recorded": False, "steps": 200,
             "scalars": 40, "identical": 40, "max_abs_diff": 0.0, "status": "identical"},
            {"name": "b", "row_commit": "abc1234567", "threads": 1, "threads_recorded": True, "steps": 200,
             "scalars": 40, "identical": 12, "max_abs_diff": 0.00123, "status": "differs"},
            {"name": "c", "row_commit": "x", "status": "skipped: no run directory"}]
    (tmp_path / "retrain.json").write_text(json.dumps({"machine": machine, "rows": recs}))
    md = reeval_markdown(tmp_path)
    assert "| a | `abc1234567` | 2 (not recorded: the count that matched) | 200 | 40 / 40 | 0 |" in md
    assert "| b | `abc1234567` | 1 | 200 | 12 / 40 | 0.00123 |" in md and "(skipped): c." in md
