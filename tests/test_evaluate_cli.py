"""`wm eval`: every agent, sharded across workers, per-planner results, videos."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from wm.cli import main

TIMING = {"plan_ms_mean", "act_ms_total"}


def _sets(overrides):
    return [x for o in overrides for x in ("--set", o)]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from tests.conftest import TINY

    run = tmp_path_factory.mktemp("evalrun")
    sets = _sets([*TINY, "eval.episodes=4", "eval.gcbc_steps=20", "eval.gcbc_hidden=16"])
    assert main(["collect", "--out", str(run), "--quiet", *sets]) == 0
    assert main(["train", "--out", str(run), "--quiet", *sets]) == 0
    return run, sets


def _episodes(run, label):
    body = json.loads((run / "eval" / label / "results.json").read_text())
    return [{k: v for k, v in e.items() if k not in TIMING} for e in body["per_episode"]]


def test_two_workers_give_exactly_the_one_process_results(tiny_run):
    run, sets = tiny_run
    agents = ["--set", "eval.agents=[mpc, oracle, random, gcbc]"]
    labels = ["mpc-cem", "oracle-cem", "random", "gcbc"]
    assert main(["eval", "--out", str(run), "--quiet", *sets, *agents]) == 0
    one = {label: _episodes(run, label) for label in labels}
    assert main(["eval", "--out", str(run), "--quiet", "--workers", "2", *sets, *agents]) == 0
    two = {label: _episodes(run, label) for label in labels}
    assert two == one
    assert all(len(eps) == 4 for eps in one.values())
    assert len(list((run / "gcbc").iterdir())) == 1  # trained once, then loaded


def test_each_planner_keeps_its_results_and_the_table_lists_them(tiny_run, capsys):
    run, sets = tiny_run
    for planner in ("icem", "mppi", "gd", "cem_gd"):
        args = ["eval", "--out", str(run), "--quiet", *sets, "--set", "eval.agents=[mpc]",
                "--set", f"plan.planner={planner}"]
        assert main(args) == 0
        budget = "16x2+10" if planner == "cem_gd" else "16x2"
        assert f"| mpc | {planner} | {budget} |" in capsys.readouterr().out
        body = json.loads((run / "eval" / f"mpc-{planner}" / "results.json").read_text())
        assert body["planner"] == planner and body["plan"]["samples"] == 16
    table = (run / "eval" / "results.md").read_text()
    for planner in ("icem", "mppi", "gd", "cem_gd"):
        assert f"| mpc | {planner} |" in table


def test_videos_flag_renders_mp4(tiny_run):
    run, sets = tiny_run
    assert main(["eval", "--out", str(run), "--quiet", "--videos", "1", *sets, "--set", "eval.agents=[random]"]) == 0
    assert [p.name for p in (run / "eval" / "random" / "videos").iterdir()] == ["episode_0000.mp4"]


def test_unknown_planner_is_named(tiny_run, capsys):
    run, sets = tiny_run
    assert main(["eval", "--out", str(run), "--quiet", *sets, "--set", "plan.planner=bogus"]) == 2
    err = capsys.readouterr().err
    assert "plan.planner" in err and "bogus" in err and err.count("\n") == 1


def test_plot_planning_script_writes_three_plots(tiny_run, tmp_path):
    from benchmarks.plot_planning import main as plot_main

    run, _ = tiny_run
    out = tmp_path / "plots"
    assert plot_main(["--run", str(run), "--out", str(out), "--episodes", "1", "--planners", "cem", "gd",
                      "--samples", "4", "8", "--iterations", "2", "--horizons", "2", "3", "--time-samples", "4", "8",
                      "--time-starts", "1"]) == 0
    names = {p.name for p in out.iterdir()}
    assert names == {"success_vs_budget.png", "success_vs_horizon.png", "steps_vs_horizon.png",
                     "plan_time_vs_samples.png", "sweeps.json"}


@pytest.mark.slow
def test_torchrun_ranks_give_exactly_the_one_process_results(tiny_run):
    run, sets = tiny_run
    agents = ["--set", "eval.agents=[mpc, oracle, gcbc]"]
    labels = ["mpc-cem", "oracle-cem", "gcbc"]
    assert main(["eval", "--out", str(run), "--quiet", *sets, *agents]) == 0
    one = {label: _episodes(run, label) for label in labels}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "wm.cli", "eval", "--out", str(run), "--quiet", *sets, *agents]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=Path(__file__).parents[1])
    # a failing rank's own error sits mid-stream, before the launcher's summary: show both
    cause = [line for line in done.stderr.splitlines() if any(w in line for w in ("Error", "what()", "terminate"))]
    assert done.returncode == 0, "\n".join(cause[:20]) + "\n...\n" + done.stderr[-1500:]
    assert done.stdout.count("| mpc |") == 1  # only rank 0 prints
    assert {label: _episodes(run, label) for label in labels} == one
