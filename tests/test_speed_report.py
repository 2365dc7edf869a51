"""Speed report markdown from fake results files; the speed scripts' --quick smoke runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.timing import linear_fit
from wm.speed_report import speed_markdown

ROOT = Path(__file__).resolve().parents[1]
MACHINE = {"cpu": "Fake CPU 9000", "versions": {"torch": "9.9"}, "git_commit": "abcdef1234567", "date": "2026-01-01"}


def fake_plan_speed() -> dict:
    run = {"threads": 2, "plan_ms": {"reference": 150.0, "fp32": 120.5, "bf16": 80.3},
           "matmul_ms": {"fp32": 100.0, "bf16": 50.0}, "oracle_ms": 1200.0,
           "ratios": {"planner_over_matmul": 1.2, "planner_over_matmul_bf16": 1.6, "latent_over_oracle": 0.1004}}
    return {"config": "configs/x.yaml", "machine": MACHINE, "runs": [run],
            "budget": {"samples": 300, "iterations": 30, "horizon": 5, "repeats": 15}}


def fake_scaling() -> dict:
    fit = {"slope": 0.5, "intercept": 2.0, "r2": 0.999}
    return {"threads": 1, "machine": MACHINE, "plots": ["scaling_plan.png"],
            "plan": {"iterations": 30, "samples": [50, 100], "fit_samples": fit, "horizons": [2, 5],
                     "fit_horizon": fit},
            "train": {"state": {"steps": 200, "batch_sizes": [16, 32], "samples_per_s": [1000.4, 1800.6]}},
            "memory": {"episodes": 1000, "window": 100, "first_mean_mb": 500.0, "last_mean_mb": 501.5,
                       "peak_mb": 502.0}}


def test_speed_markdown_empty_without_files(tmp_path):
    assert speed_markdown(tmp_path) == ""


def test_speed_markdown_renders_both_files(tmp_path):
    (tmp_path / "plan_speed.json").write_text(json.dumps(fake_plan_speed()))
    (tmp_path / "scaling.json").write_text(json.dumps(fake_scaling()))
    md = speed_markdown(tmp_path)
    assert "| 2 | 150.0 | 120.5 | 80.3 | 100.0 | 50.0 | 1.20 | 1.60 | 1200 | 0.100 |" in md
    assert "Fake CPU 9000" in md and "`abcdef1234`" in md
    assert "R^2 = 0.999" in md and "| state (200 steps) | 1000 | 1801 |" in md
    assert "first 100 500.0 MiB, of the last 100 501.5 MiB" in md
    assert "![scaling_plan.png](benchmarks/results/scaling_plan.png)" in md


def test_speed_markdown_one_file_and_bad_json(tmp_path):
    (tmp_path / "scaling.json").write_text(json.dumps(fake_scaling()))
    md = speed_markdown(tmp_path, link_dir="r")
    assert "## Scaling" in md and "## Planning speed" not in md and "](r/scaling_plan.png)" in md
    (tmp_path / "plan_speed.json").write_text("{not json")
    with pytest.raises(ValueError, match="plan_speed.json"):
        speed_markdown(tmp_path)


def test_linear_fit_exact_line_and_noise():
    f = linear_fit([1, 2, 3, 4], [3, 5, 7, 9])
    assert f["slope"] == pytest.approx(2) and f["intercept"] == pytest.approx(1) and f["r2"] == pytest.approx(1)
    assert linear_fit([1, 2, 3, 4], [1, 3, 1, 3])["r2"] < 0.5


def _run_quick(module: str, tmp_path: Path, *extra: str) -> str:
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    out = subprocess.run([sys.executable, "-m", module, "--quick", *extra], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


@pytest.mark.slow
def test_plan_speed_quick_runs(tmp_path):
    out = tmp_path / "p.json"
    stdout = _run_quick("benchmarks.plan_speed", tmp_path, "--threads", "1", "--out", str(out))
    res = json.loads(out.read_text())
    run = res["runs"][0]
    assert run["threads"] == 1 and run["omp_wait_policy"] == "PASSIVE"
    assert all(run["plan_ms"][k] > 0 for k in ("reference", "fp32", "bf16"))
    assert run["plan_max_diff"]["fp32"] < 1e-4  # the fast float32 path plans like the reference
    assert "planner/matmul" in stdout


@pytest.mark.slow
def test_scaling_quick_runs(tmp_path):
    _run_quick("benchmarks.scaling", tmp_path, "--out-dir", str(tmp_path))
    res = json.loads((tmp_path / "scaling_quick.json").read_text())
    assert len(res["plan"]["ms_by_samples"]) == 3 and len(res["memory"]["rss_mb"]) == 100
    assert all(x > 0 for t in res["train"].values() for x in t["samples_per_s"])
