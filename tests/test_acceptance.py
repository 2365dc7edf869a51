"""Acceptance of the end-to-end slice: the default `wm run`, measured on 50 episodes."""

from __future__ import annotations

import json

import pytest

from wm.cli import main


@pytest.mark.slow
def test_default_run_meets_targets(tmp_path):
    assert main(["run", "--out", str(tmp_path), "--quiet"]) == 0
    labels = {"mpc": "mpc-cem", "oracle": "oracle-cem", "random": "random"}
    rate = {a: json.loads((tmp_path / "eval" / label / "results.json").read_text())["success_rate"]
            for a, label in labels.items()}
    assert rate["mpc"] >= 0.90
    assert rate["oracle"] >= 0.95
    assert rate["random"] <= 0.2
    train = json.loads((tmp_path / "checkpoints" / "train_metrics.json").read_text())
    assert train["collapse/eff_rank"] > 2.0
