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


def test_scaling_markdown_names_the_allocator_it_measured(tmp_path):
    res = fake_scaling()
    (tmp_path / "scaling.json").write_text(json.dumps(res))
    assert "allocator" not in speed_markdown(tmp_path)  # files from before the field say nothing
    for allocator, words in (("retain", "allocator: `wm`'s"), ("system", "allocator: glibc's default")):
        (tmp_path / "scaling.json").write_text(json.dumps({**res, "allocator": allocator}))
        assert f"1 thread(s); {words}" in speed_markdown(tmp_path)


def test_swm_markdown_lists_every_planner_and_the_ratio_to_theirs(tmp_path):
    variant = {"successes": 30, "episodes": 30, "iterations_mean": 30.0, "plan_cpu_s": 22.8, "cpu_s_per_solved": 0.76}
    res = {"machine": MACHINE, "threads": 1, "precision": "fp32", "episodes": 30, "swm": {"version": "0.1.1"},
           "budget": {"samples": 300, "iterations": 30, "elites": 30, "horizon": 5},
           "variants": {"ours cem": variant, "ours cem stop_tol=0.05": {**variant, "cpu_s_per_solved": 0.245},
                        "swm CEMSolver": {**variant, "successes": 29, "cpu_s_per_solved": None}},
           "theirs_over_ours": {"ours cem": 1.214, "ours cem stop_tol=0.05": 3.77}}
    (tmp_path / "swm_compare.json").write_text(json.dumps(res))
    md = speed_markdown(tmp_path)
    assert "## Planning CPU per solved episode (against stable-worldmodel)" in md
    assert "| ours cem stop_tol=0.05 | 30 / 30 | 30.0 | 22.8 | 0.245 | 3.77 |" in md
    assert "| swm CEMSolver | 29 / 30 | 30.0 | 22.8 | - | - |" in md
    assert "`python -m benchmarks.swm_compare --episodes 30 --tols 0.05`" in md


def test_scaling_fit_prints_a_negative_intercept_as_a_difference(tmp_path):
    res = fake_scaling()
    res["plan"]["fit_horizon"] = {"slope": 30.0, "intercept": -3.91, "r2": 1.0}
    (tmp_path / "scaling.json").write_text(json.dumps(res))
    assert "30 ms per step - 3.91 ms" in speed_markdown(tmp_path)


def test_plan_speed_markdown_shows_the_layer_chain_floor_when_timed(tmp_path):
    res = fake_plan_speed()
    run = res["runs"][0]
    run["floor_ms"] = {"fp32": 110.0, "bf16": 60.0}
    run["ratios"].update(planner_over_floor=1.096, planner_over_floor_bf16=1.338)
    (tmp_path / "plan_speed.json").write_text(json.dumps(res))
    md = speed_markdown(tmp_path)
    assert "| 2 | 150.0 | 120.5 | 80.3 | 100.0 | 50.0 | 110.0 | 60.0 | 1.10 | 1.34 | 1.20 | 1.60 | 1200 | 0.100 |" in md
    assert "planner / floor <= 1.2" in md
    header, rule = md.splitlines()[4:6]
    assert header.count("|") == rule.count("|") == 15


def test_plan_speed_markdown_shows_the_population_split_when_timed(tmp_path):
    res = fake_plan_speed()
    one = json.loads(json.dumps(res["runs"][0]))
    one["threads"] = 1
    res["runs"][0]["plan_ms"].update(fp32_split=70.25, bf16_split=55.0)
    res["runs"].insert(0, one)
    (tmp_path / "plan_speed.json").write_text(json.dumps(res))
    md = speed_markdown(tmp_path)
    assert "| 1 | 150.0 | 120.5 | 80.3 | - | - | 100.0 |" in md
    assert "| 2 | 150.0 | 120.5 | 80.3 | 70.2 | 55.0 | 100.0 |" in md
    assert "`eval.plan_threads`" in md
    header, rule = md.splitlines()[4:6]
    assert header.count("|") == rule.count("|") == 13


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
    assert all(run[floor][k] > 0 for floor in ("matmul_ms", "floor_ms") for k in ("fp32", "bf16"))
    assert run["ratios"]["planner_over_floor"] > 0
    assert run["plan_max_diff"]["fp32"] < 1e-4  # the fast float32 path plans like the reference
    assert "planner/matmul" in stdout


@pytest.mark.slow
def test_scaling_quick_runs(tmp_path):
    _run_quick("benchmarks.scaling", tmp_path, "--out-dir", str(tmp_path))
    res = json.loads((tmp_path / "scaling_quick.json").read_text())
    assert len(res["plan"]["ms_by_samples"]) == 3 and len(res["memory"]["rss_mb"]) == 100
    assert all(x > 0 for t in res["train"].values() for x in t["samples_per_s"])


@pytest.mark.slow
def test_plan_flops_quick_runs(tmp_path):
    out = tmp_path / "f.json"
    stdout = _run_quick("benchmarks.plan_flops", tmp_path, "--tols", "0", "0.1", "--bf16", "off",
                        "--cache", str(tmp_path / "models"), "--out", str(out))
    res = json.loads(out.read_text())
    off, on = res["variants"].values()
    assert res["machine"]["git_commit"] and off["iterations_mean"] == 30 and on["iterations_mean"] <= 30
    assert all(len(v["per_episode"]) == 2 and v["plan_cpu_s"] > 0 for v in (off, on))
    assert "CPU s/solved" in stdout


SWM = Path("/tmp/swm/pkg")


@pytest.mark.skipif(not (SWM / "stable_worldmodel" / "solver" / "cem.py").is_file(),
                    reason="stable-worldmodel 0.1.1 not unpacked at /tmp/swm/pkg (see benchmarks/swm_compare.py)")
def test_swm_solvers_plan_behind_our_interface():
    import torch

    from benchmarks.swm_compare import SWMPlanner, load_swm_solvers

    cem_cls, mppi_cls = load_swm_solvers(SWM)
    target = torch.tensor([[0.3, -0.7], [0.5, 0.1], [-0.2, 0.9]])
    low, high = -torch.ones(2), torch.ones(2)

    def cost(a: torch.Tensor) -> torch.Tensor:
        return (a - target).pow(2).sum(dim=(1, 2))
    plans = []
    for cls in (cem_cls, mppi_cls):
        planner = SWMPlanner(cls, num_samples=200, n_steps=15, topk=20)
        planner.seed(0)
        plans.append(planner.plan(cost, 3, low, high))
        assert plans[-1].shape == (3, 2) and planner.last_iterations == 15
        assert (plans[-1] >= low).all() and (plans[-1] <= high).all()
    assert (plans[0] - target).abs().max() < 0.05, plans[0]
    # their MPPI keeps its sampling std fixed (1): it only gets near the optimum
    assert cost(plans[1][None]) < cost(torch.zeros(1, 3, 2)) / 2, plans[1]


def test_wide_model_plan_speed_gets_its_own_section_and_command(tmp_path):
    default = {**fake_plan_speed(), "config": "configs/tworoom_pixels.yaml"}
    wide = {**fake_plan_speed(), "config": "configs/tworoom_wide_pixels.yaml", "overrides": ["plan.horizon=5"]}
    wide["runs"][0]["plan_ms"]["fp32"] = 81.5
    (tmp_path / "plan_speed.json").write_text(json.dumps(default))
    (tmp_path / "plan_speed_wide.json").write_text(json.dumps(wide))
    md = speed_markdown(tmp_path, link_dir="r")
    assert md.index("## Planning speed\n") < md.index("## Planning speed (`tworoom_wide_pixels`)")
    assert "Command: `python -m benchmarks.plan_speed`" in md
    assert ("Command: `python -m benchmarks.plan_speed --config configs/tworoom_wide_pixels.yaml "
            "--set plan.horizon=5 --out r/plan_speed_wide.json`") in md
    assert "| 2 | 150.0 | 81.5 |" in md
