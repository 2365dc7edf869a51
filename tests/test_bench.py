"""`wm bench`: task files, a tiny suite end to end, reports generated from results files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wm.bench import load_suite, load_task
from wm.bench_report import README_END, README_START, update_readme
from wm.cli import main
from wm.config import ConfigError

REPO = Path(__file__).parent.parent


def test_shipped_suite_loads():
    tasks = load_suite(REPO / "configs" / "bench")
    assert tasks and all(t.config.exists() for t in tasks)


def test_bad_task_file_named(tmp_path):
    bad = tmp_path / "t.yaml"
    bad.write_text("name: x\nconfig: a.yaml\ncolour: red\n")
    with pytest.raises(ConfigError, match=r"t.yaml.*colour"):
        load_task(bad)
    with pytest.raises(ConfigError, match="unknown bench task"):
        load_suite(REPO / "configs" / "bench", ["nope"])


def test_quick_suite_end_to_end(tmp_path, tiny_overrides, monkeypatch):
    suite = tmp_path / "suite"
    suite.mkdir()
    sets = ", ".join(tiny_overrides)
    (suite / "tiny.yaml").write_text(
        f"name: tiny\ntitle: Tiny TwoRoom\nconfig: {REPO / 'configs' / 'tworoom_state.yaml'}\n"
        f"set: [{sets}]\nquick: [eval.episodes=3]\ntargets: {{mpc: 0.5}}\n")
    monkeypatch.chdir(tmp_path)
    args = ["bench", "--suite", str(suite), "--quick", "--results", "res", "--runs", "runs", "--quiet"]
    assert main(args) == 0
    record = json.loads((tmp_path / "res" / "quick" / "tiny.json").read_text())
    assert record["agents"]["mpc"]["episodes"] == 3
    assert {"mpc", "oracle", "random"} == set(record["agents"])
    assert record["model"]["params"] > 0 and record["train_s"] > 0
    assert record["train_threads"] == record["seed_runs"][0]["train_threads"] >= 1
    assert len(record["seed_runs"]) == 1 and record["offset"] == {}  # the tiny config runs the task protocol only
    md = (tmp_path / "res" / "quick" / "BENCHMARKS.md").read_text()
    assert "Tiny TwoRoom (quick)" in md
    assert not (tmp_path / "BENCHMARKS.md").exists()  # quick runs never touch the main report
    assert main(args) == 2  # the run directory exists: refuse rather than overwrite


def test_later_seeds_reuse_the_data_and_skip_the_simulator_agents(tmp_path, tiny_overrides, monkeypatch):
    suite = tmp_path / "suite"
    suite.mkdir()
    sets = ", ".join([*tiny_overrides, "eval.episodes=2"])
    (suite / "tiny.yaml").write_text(
        f"name: tiny\nconfig: {REPO / 'configs' / 'tworoom_state.yaml'}\nset: [{sets}]\nseeds: [0, 1]\n")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "README.md").write_text(f"{README_START}\n{README_END}\n")
    assert main(["bench", "--suite", str(suite), "--results", "res", "--runs", "runs", "--quiet"]) == 0
    record = json.loads((tmp_path / "res" / "tiny.json").read_text())
    first, later = record["seed_runs"]
    assert {"mpc", "oracle", "random"} == set(first["agents"]) and set(later["agents"]) == {"mpc"}
    assert later["seed"] == 1 and later["train_s"] > 0
    assert not (tmp_path / "runs" / "tiny-s1" / "data").exists()  # trained on the first seed's dataset
    later_cfg = (tmp_path / "runs" / "tiny-s1" / "config.yaml").read_text()
    assert str(tmp_path / "runs" / "tiny" / "data" / "dataset.h5") in later_cfg


def _agent(rate, lo, hi, n=10):
    return {"success_rate": rate, "success_ci95": [lo, hi], "episodes": n, "act_ms_per_step": 3.0}


def _record(**kw):
    base = {"title": "T", "quick": False, "agents": {"mpc": _agent(0.5, 0.2, 0.8), "random": _agent(0.0, 0.0, 0.3)},
            "offset": {"mpc": _agent(0.5, 0.2, 0.8)}, "targets": {"mpc": 0.9}, "reference": {"X": 0.7},
            "reference_protocol": "offset", "train_s": 12.0, "model": {"params": 1000}, "git_commit": "abcdef123456"}
    return {**base, **kw}


def test_readme_table_replaced_between_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{README_START}\nold\n{README_END}\nend\n")
    assert update_readme(readme, [_record()])
    text = readme.read_text()
    assert "old" not in text and "0.50 [0.20, 0.80]" in text and "NOT met" in text and "X 0.70" in text
    assert "abcdef1" in text
    assert text.startswith("intro\n") and text.endswith("end\n")


def test_rows_overlapping_random_are_flagged():
    from wm.bench_report import task_table, versus_random

    assert versus_random({"mpc": _agent(0.5, 0.35, 0.65), "random": _agent(0.0, 0.0, 0.07)}) == "above random"
    assert versus_random({"mpc": _agent(0.08, 0.03, 0.19), "random": _agent(0.02, 0.0, 0.1)}) == "≈ random"
    assert versus_random({"mpc": _agent(0.5, 0.3, 0.7)}) == "-"
    assert "≈ random" in task_table([_record(agents={"mpc": _agent(0.1, 0.03, 0.2), "random": _agent(0.0, 0.0, 0.1)})])


def test_peer_numbers_only_beside_their_protocol():
    from wm.bench_report import offset_table

    assert "X 0.70" in offset_table([_record()])
    assert "X 0.70" not in offset_table([_record(reference_protocol="task")])


def test_seed_spread_and_dirty_commit_are_shown():
    from wm.bench_report import task_table

    runs = [{"agents": {"mpc": _agent(r, 0, 1)}, "offset": {}} for r in (0.5, 0.7, 0.9)]
    table = task_table([_record(seed_runs=runs, git_dirty=True)])
    assert "0.70 (0.50-0.90, 3 seeds)" in table and "abcdef1+dirty" in table


def test_offset_target_is_judged_on_the_seed_mean():
    from wm.bench_report import offset_table

    runs = [{"agents": {}, "offset": {"mpc": _agent(r, 0, 1)}} for r in (0.95, 0.8, 0.8)]
    rec = _record(seed_runs=runs, offset={"mpc": _agent(0.95, 0.8, 1.0)})
    assert ">= 0.90 NOT met (seed mean)" in offset_table([rec])  # the first seed alone would meet it
    assert ">= 0.90 met" in offset_table([_record(offset={"mpc": _agent(0.95, 0.8, 1.0)})])


def test_load_results_skips_other_json(tmp_path):
    from wm.bench import load_results

    (tmp_path / "a.json").write_text(json.dumps({"name": "a", "agents": {}}))
    (tmp_path / "plan_speed.json").write_text(json.dumps({"plan_ms_median": 80.0}))
    assert [r["name"] for r in load_results(tmp_path)] == ["a"]


@pytest.mark.slow
def test_shipped_pixel_task_quick(tmp_path, monkeypatch):
    """A shipped task file as ``wm bench --quick`` runs it: collect, train, evaluate, report."""
    monkeypatch.chdir(tmp_path)
    args = ["bench", "--suite", str(REPO / "configs" / "bench"), "--only", "tworoom_pixels", "--quick",
            "--results", "res", "--runs", "runs", "--quiet"]
    assert main(args) == 0
    record = json.loads((tmp_path / "res" / "quick" / "tworoom_pixels.json").read_text())
    assert record["obs_type"] == "pixels" and record["quick"]
    assert {"mpc", "oracle-goal", "oracle", "random"} == set(record["agents"])  # the ladder, less sim-latent
    assert {"mpc", "oracle-goal", "random"} == set(record["offset"])
    assert all(a["episodes"] == 3 for a in [*record["agents"].values(), *record["offset"].values()])


def test_tasks_without_results_are_listed_as_not_run(tmp_path):
    from wm.bench import pending_tasks
    from wm.bench_report import benchmarks_md, summary_table

    tasks = load_suite(REPO / "configs" / "bench")
    pending = pending_tasks(tasks, [{"name": tasks[0].name}])
    assert len(pending) == len(tasks) - 1 and all(p["pending"] for p in pending)
    table = summary_table(pending)
    assert table.count("not run yet") == 2 * len(pending)  # one row in each protocol's table
    assert f"wm bench --only {pending[0]['name']}" in benchmarks_md(pending)


def test_ladder_reading_names_the_rung_that_loses_most():
    from wm.bench_report import ladder_reading

    def rates(**kw):
        return {k.replace("_", "-"): {"success_rate": v} for k, v in kw.items()}

    assert ladder_reading(rates(oracle=1.0, oracle_goal=0.7, sim_latent=0.45, mpc=0.2)).startswith("goal spec")
    assert ladder_reading(rates(oracle=1.0, oracle_goal=0.9, sim_latent=0.9, mpc=0.3)).startswith("predictor")
    assert ladder_reading(rates(oracle=1.0, oracle_goal=0.95, mpc=0.1)).startswith("latent + predictor")
    assert ladder_reading(rates(oracle=1.0, oracle_goal=1.0, mpc=1.0)) == "-"
    assert ladder_reading(rates(mpc=0.5, random=0.1)) == "-"
    # a rung below a later one bounds nothing: merged into the next step
    assert ladder_reading(rates(oracle=1.0, oracle_goal=0.64, sim_latent=0.98, mpc=0.68)) == \
        "predictor (sim-latent -> mpc)"
    assert ladder_reading(rates(oracle=1.0, oracle_goal=0.74, sim_latent=0.78, mpc=0.82)) == \
        "goal specification + latent geometry + predictor (oracle -> mpc)"
    assert ladder_reading(rates(oracle=1.0, oracle_goal=0.38, mpc=1.0)) == "-"
    assert ladder_reading(rates(oracle=1.0, mpc=0.76)) == "goal specification + latent + predictor (oracle -> mpc)"


def test_offset_ladder_reads_from_oracle_goal():
    """The offset protocol has no privileged oracle: its ladder starts at oracle-goal."""
    from wm.bench_report import ladder_reading, offset_table

    def rates(**kw):
        return {k.replace("_", "-"): {"success_rate": v, "success_ci95": [0.0, 1.0]} for k, v in kw.items()}

    top = "oracle-goal"
    assert ladder_reading(rates(oracle_goal=0.4, sim_latent=0.38, mpc=0.16), top) == "predictor (sim-latent -> mpc)"
    assert ladder_reading(rates(oracle_goal=0.4, sim_latent=0.1, mpc=0.08), top) == \
        "latent geometry (oracle-goal -> sim-latent)"
    assert ladder_reading(rates(oracle_goal=0.4, mpc=0.1), top) == "latent + predictor (oracle-goal -> mpc)"
    assert ladder_reading(rates(oracle_goal=0.4, sim_latent=0.6, mpc=0.2), top) == "predictor (sim-latent -> mpc)"
    assert ladder_reading(rates(oracle_goal=0.78, mpc=0.84), top) == "-"
    assert ladder_reading(rates(oracle_goal=0.4, mpc=0.1)) == "-"  # the task ladder needs the oracle
    table = offset_table([_record(offset=rates(mpc=0.16, sim_latent=0.38, oracle_goal=0.4, random=0.0))])
    assert "| 0.38 [0.00, 1.00] |" in table and "predictor (sim-latent -> mpc)" in table


def test_shipped_reports_are_regenerated_from_the_shipped_results():
    """``wm bench --report-only`` would rewrite BENCHMARKS.md and the README table byte-identically."""
    from wm.bench import benchmarks_page, load_results, pending_tasks, with_task_info
    from wm.bench_report import README_END, README_START, summary_table

    results = REPO / "benchmarks" / "results"
    tasks = load_suite(REPO / "configs" / "bench")
    records = load_results(results)
    records = with_task_info(records, tasks) + pending_tasks(tasks, records)
    assert (REPO / "BENCHMARKS.md").read_text() == benchmarks_page(records, results)
    readme = (REPO / "README.md").read_text()
    block = readme.split(README_START, 1)[1].split(README_END, 1)[0]
    assert block == f"\n{summary_table(records)}\n"


def test_add_seeds_keeps_the_row_and_trains_only_the_missing_seeds(tmp_path, tiny_overrides, monkeypatch):
    suite = tmp_path / "suite"
    suite.mkdir()
    sets = ", ".join([*tiny_overrides, "eval.episodes=2"])
    task = f"name: tiny\nconfig: {REPO / 'configs' / 'tworoom_state.yaml'}\nset: [{sets}]\n"
    (suite / "tiny.yaml").write_text(task)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "README.md").write_text(f"{README_START}\n{README_END}\n")
    args = ["bench", "--suite", str(suite), "--results", "res", "--runs", "runs", "--quiet"]
    assert main(args) == 0
    before = json.loads((tmp_path / "res" / "tiny.json").read_text())
    (suite / "tiny.yaml").write_text(task + "seeds: [0, 1]\n")
    assert main([*args, "--add-seeds"]) == 0
    after = json.loads((tmp_path / "res" / "tiny.json").read_text())
    assert after["agents"] == before["agents"] and after["seed_runs"][0] == before["seed_runs"][0]
    assert [r["seed"] for r in after["seed_runs"]] == [0, 1] and set(after["seed_runs"][1]["agents"]) == {"mpc"}
    assert "git_commit" in after["seed_runs"][1]
    assert main([*args, "--add-seeds"]) == 0  # nothing missing: nothing trained, the file unchanged
    assert json.loads((tmp_path / "res" / "tiny.json").read_text()) == after
    (suite / "tiny.yaml").write_text(task + "seeds: [0, 1, 2, 3]\n")
    assert main([*args, "--add-seeds", "--seeds", "x"]) == 2
    assert main([*args, "--add-seeds", "--seeds", "3"]) == 0  # only the one asked for
    after = json.loads((tmp_path / "res" / "tiny.json").read_text())
    assert [r["seed"] for r in after["seed_runs"]] == [0, 1, 3]
    (suite / "tiny.yaml").write_text(task.replace("set: [", "set: [train.lr=0.01, ") + "seeds: [0, 1, 2]\n")
    assert main([*args, "--add-seeds"]) == 2  # the config changed since: refused, the file kept
    assert json.loads((tmp_path / "res" / "tiny.json").read_text()) == after


def test_task_section_names_the_predictor_phase_when_the_config_ran_one():
    from wm.bench_report import _task_section

    rec = _record(name="t", env_id="wm/X-v0", obs_type="pixels", config_hash="h", date="d", collect_s=1.0,
                  train_steps=4000, probe_r2=0.5, eff_rank=3.0, versions={})
    assert "(4000 steps)," in "\n".join(_task_section(rec))
    rec["config"] = {"train": {"predictor_steps": 20000}}
    assert "(4000 steps + 20000 predictor-phase steps)," in "\n".join(_task_section(rec))
    rec["train_threads"] = 2
    assert "train 12 s on 2 CPU threads (4000 steps" in "\n".join(_task_section(rec))
