"""The results-currency check: a row is current while the library is unchanged since its commit."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from benchmarks import results_currency as rc


def _git(repo: Path, *args: str) -> str:
    out = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                         capture_output=True, text=True)
    return out.stdout.strip()


def _commit(repo: Path, files: dict[str, str]) -> str:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "change")
    return _git(repo, "rev-parse", "HEAD")


def _row(results: Path, name: str, commit: str, dirty: bool | None, added: dict[int, str] | None = None) -> None:
    runs = [{"seed": 0}] + [{"seed": s, "git_commit": c, "git_dirty": False} for s, c in (added or {}).items()]
    (results / f"{name}.json").write_text(json.dumps({"name": name, "agents": {}, "git_commit": commit,
                                                      "git_dirty": dirty, "seed_runs": runs}))


def test_rows_stay_current_through_docs_commits_and_go_stale_on_library_ones(tmp_path):
    repo, results = tmp_path / "repo", tmp_path / "results"
    repo.mkdir()
    results.mkdir()
    _git(repo, "init", "-q")
    first = _commit(repo, {"agents/plan.py": "a = 1\n", "docs/x.md": "one\n"})
    docs_only = _commit(repo, {"docs/x.md": "two\n"})
    _row(results, "kept", first, False)
    _row(results, "dirty", docs_only, True)
    _row(results, "unknown", "f" * 40, False)
    (results / "speed.json").write_text(json.dumps({"git_commit": first}))  # not a bench row: skipped
    assert [(e["row"], e["current"]) for e in rc.check(results, "HEAD", repo)] == \
        [("dirty", False), ("kept", True), ("unknown", False)]
    library = _commit(repo, {"agents/plan.py": "a = 2\n"})
    _row(results, "added", first, False, added={1: library, 2: first})
    by = {(e["row"], e["seeds"]): e for e in rc.check(results, "HEAD", repo)}
    assert by[("kept", "0")]["changed"] == ["agents/plan.py"] and not by[("kept", "0")]["current"]
    assert by[("added", "1")]["current"] and not by[("added", "2")]["current"] and not by[("added", "0")]["current"]
    assert by[("unknown", "0")]["changed"] is None
    assert rc._why(by[("unknown", "0")]) == "commit not in this clone"
    assert rc._why(by[("dirty", "0")]).endswith("made from a dirty tree")
    assert rc.library_changes(first, docs_only, repo) == []


def test_every_row_the_report_renders_is_checked_even_without_seed_runs(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    first = _commit(repo, {"envs/a.py": "a = 1\n"})
    old = {"name": "old_row", "agents": {}, "git_commit": first, "git_dirty": False}  # from before seed_runs
    (tmp_path / "old_row.json").write_text(json.dumps(old))
    assert [(e["row"], e["seeds"], e["current"]) for e in rc.check(tmp_path, "HEAD", repo)] == [("old_row", "0", True)]


def test_seeds_trained_in_the_row_process_share_its_commit():
    record = {"git_commit": "abc", "git_dirty": False,
              "seed_runs": [{"seed": 0}, {"seed": 1}, {"seed": 2, "git_commit": "def", "git_dirty": None}]}
    assert rc.row_commits(record) == [{"seeds": "0,1", "commit": "abc", "dirty": False},
                                      {"seeds": "2", "commit": "def", "dirty": None}]


def test_the_command_exits_one_while_a_row_is_stale(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(rc, "check_artifacts", lambda results, rev: [])
    monkeypatch.setattr(rc, "check", lambda results, rev: [
        {"row": "a", "seeds": "0", "commit": "1" * 40, "dirty": False, "changed": [], "current": True},
        {"row": "b", "seeds": "0", "commit": "2" * 40, "dirty": False, "changed": ["wm/x.py"], "current": False}])
    assert rc.main(["--results", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "| b | 0 | 2222222 | NO | 1 library files changed since: wm/x.py |" in out
    assert out.strip().endswith("1 of 2 recorded commits current at HEAD; regenerate: b")


def test_reported_artifacts_are_checked_by_the_commit_their_benchmark_recorded(tmp_path):
    repo, results = tmp_path / "repo", tmp_path / "results"
    repo.mkdir()
    results.mkdir()
    _git(repo, "init", "-q")
    old = _commit(repo, {"wm/x.py": "a = 1\n"})
    new = _commit(repo, {"wm/x.py": "a = 2\n"})
    (results / "scaling.json").write_text(json.dumps({"machine": {"git_commit": new}}))  # no dirty flag
    (results / "reeval.json").write_text(json.dumps({"machine": {"git_commit": new, "git_dirty": True}}))
    (results / "swm_compare.json").write_text(json.dumps({"machine": {"git_commit": old, "git_dirty": False}}))
    (results / "velocity_probe.json").write_text(json.dumps({"git_commit": old}))  # a cited diagnostic: skipped
    by = {e["row"]: e for e in rc.check_artifacts(results, "HEAD", repo)}
    assert set(by) == {"scaling.json", "reeval.json", "swm_compare.json"}
    assert by["scaling.json"]["current"] and rc._why(by["scaling.json"]) == "dirty flag not recorded"
    assert not by["reeval.json"]["current"] and not by["swm_compare.json"]["current"]
    assert by["swm_compare.json"]["changed"] == ["wm/x.py"]


def test_the_reported_list_is_what_the_report_modules_read():
    import re

    sources = "".join((rc.ROOT / "wm" / f).read_text() for f in ("speed_report.py", "runtime_report.py",
                                                                  "reeval_report.py"))
    assert set(re.findall(r'"([a-z_0-9]+\.json)"', sources)) == set(rc.REPORTED)


def test_a_missing_folder_or_a_corrupt_file_is_named_in_one_line(tmp_path):
    with pytest.raises(SystemExit, match="nowhere: no such results folder"):
        rc.check(tmp_path / "nowhere")
    (tmp_path / "pusht_pixels.json").write_text('{"seed_runs": [')
    with pytest.raises(SystemExit, match=r"pusht_pixels\.json: not a readable results file"):
        rc.check(tmp_path)


def _bench_repo(repo: Path) -> str:
    """A repo with two bench tasks, each on its own config; returns the first commit."""
    repo.mkdir()
    _git(repo, "init", "-q")
    files = {"agents/plan.py": "a = 1\n"}
    for name in ("mine", "other"):
        files[f"configs/{name}.yaml"] = "env:\n  id: wm/TwoRoom-v0\ntrain:\n  steps: 100\n"
        files[f"configs/bench/{name}.yaml"] = f"name: {name}\nconfig: ../{name}.yaml\ntargets: {{mpc: 0.5}}\n"
    return _commit(repo, files)


def _bench_row(results: Path, repo: Path, name: str, commit: str) -> None:
    from wm.bench import load_task
    from wm.config import load_config, to_dict

    task = load_task(repo / "configs" / "bench" / f"{name}.yaml")
    cfg = to_dict(load_config(task.config, [*task.overrides, f"train.seed={task.seeds[0]}"]))
    (results / f"{name}.json").write_text(json.dumps({
        "name": name, "agents": {}, "git_commit": commit, "git_dirty": False, "seed_runs": [{"seed": 0}],
        "config": cfg, "title": task.title, "targets": task.targets, "reference": {}, "reference_protocol": "offset",
        "differs": ""}))


def test_a_config_change_counts_only_for_the_rows_whose_config_it_changes(tmp_path):
    repo, results = tmp_path / "repo", tmp_path / "results"
    results.mkdir()
    first = _bench_repo(repo)
    _bench_row(results, repo, "mine", first)
    _commit(repo, {"configs/other.yaml": "env:\n  id: wm/TwoRoom-v0\ntrain:\n  steps: 200\n",
                   "configs/mine.yaml": "# a comment\nenv:\n  id: wm/TwoRoom-v0\ntrain:\n  steps: 100\n"})
    (entry,) = rc.check(results, "HEAD", repo)
    assert entry["current"] and entry["changed"] == [] and entry["config"] == []
    _commit(repo, {"configs/mine.yaml": "env:\n  id: wm/TwoRoom-v0\ntrain:\n  steps: 300\n"})
    (entry,) = rc.check(results, "HEAD", repo)
    assert not entry["current"] and entry["changed"] == ["configs/mine.yaml", "configs/other.yaml"]
    assert entry["config"] == ["train.steps: 100 -> 300"]
    assert "its config differs: train.steps: 100 -> 300" in rc._why(entry)


def test_a_changed_target_or_uncommitted_config_or_code_change_keeps_a_row_stale(tmp_path):
    repo, results = tmp_path / "repo", tmp_path / "results"
    results.mkdir()
    first = _bench_repo(repo)
    _bench_row(results, repo, "mine", first)
    _commit(repo, {"configs/bench/mine.yaml": "name: mine\nconfig: ../mine.yaml\ntargets: {mpc: 0.9}\n"})
    (entry,) = rc.check(results, "HEAD", repo)
    assert not entry["current"] and entry["config"] == ["targets: {'mpc': 0.5} -> {'mpc': 0.9}"]
    _commit(repo, {"configs/bench/mine.yaml": "name: mine\nconfig: ../mine.yaml\ntargets: {mpc: 0.5}\n",
                   "configs/other.yaml": "env:\n  id: wm/TwoRoom-v0\n"})  # another row's config
    assert rc.check(results, "HEAD", repo)[0]["current"]
    (repo / "configs" / "mine.yaml").write_text("env:\n  id: wm/TwoRoom-v0\n")  # not committed
    (entry,) = rc.check(results, "HEAD", repo)
    assert not entry["current"] and "not the checkout's" in entry["config"][0]
    _git(repo, "checkout", "--", "configs")
    assert not rc.check(results, "HEAD~1", repo)[0]["current"]  # another revision: every config change counts
    _commit(repo, {"agents/plan.py": "a = 2\n"})
    (entry,) = rc.check(results, "HEAD", repo)
    assert not entry["current"] and entry["changed"] == ["agents/plan.py"]


def test_an_artifact_counts_only_the_config_files_its_benchmark_reads(tmp_path):
    repo, results = tmp_path / "repo", tmp_path / "results"
    results.mkdir()
    _bench_repo(repo)
    first = _commit(repo, {"configs/derived.yaml": "base: mine.yaml\ntrain:\n  steps: 7\n"})
    assert rc.config_chain("configs/derived.yaml", repo) == {"configs/derived.yaml", "configs/mine.yaml"}
    (results / "plan_speed.json").write_text(json.dumps({"config": "configs/derived.yaml",
                                                         "machine": {"git_commit": first, "git_dirty": False}}))
    (results / "reeval.json").write_text(json.dumps({"machine": {"git_commit": first, "git_dirty": False},
                                                     "rows": []}))
    _commit(repo, {"configs/other.yaml": "env:\n  id: wm/TwoRoom-v0\n"})
    by = {e["row"]: e for e in rc.check_artifacts(results, "HEAD", repo)}
    assert by["plan_speed.json"]["current"] and by["reeval.json"]["current"]  # reads run directories' configs
    _commit(repo, {"configs/mine.yaml": "env:\n  id: wm/TwoRoom-v0\n"})  # the base of the one it reads
    by = {e["row"]: e for e in rc.check_artifacts(results, "HEAD", repo)}
    assert not by["plan_speed.json"]["current"] and by["plan_speed.json"]["changed"] == ["configs/mine.yaml"]
    assert by["reeval.json"]["current"]


def test_a_rerun_of_a_row_that_was_regenerated_since_is_stale(tmp_path):
    repo, results = tmp_path / "repo", tmp_path / "results"
    results.mkdir()
    first = _bench_repo(repo)
    _bench_row(results, repo, "mine", first)
    rerun = {"machine": {"git_commit": first, "git_dirty": False},
             "rows": [{"name": "mine", "row_commit": first[:10], "protocol": "task", "episodes": 5}]}
    (results / "retrain.json").write_text(json.dumps(rerun))
    assert rc.check_artifacts(results, "HEAD", repo)[0]["current"]
    newer = _commit(repo, {"docs.md": "x\n"})
    _bench_row(results, repo, "mine", newer)  # the row made again
    (entry,) = rc.check_artifacts(results, "HEAD", repo)
    assert not entry["current"] and entry["rows_regenerated"] == ["mine"]
    assert rc._why(entry) == "re-ran rows regenerated since: mine"


def test_every_reported_artifact_knows_the_configs_its_benchmark_read():
    from benchmarks import state_model

    assert set(rc.ROW_BOUND) <= set(rc.REPORTED) and set(rc.ARTIFACT_CONFIGS) <= set(rc.REPORTED)
    for name in rc.REPORTED:
        path = rc.RESULTS / name
        if path.exists():
            assert rc.artifact_configs(name, json.loads(path.read_text())) is not None, name
    swm = json.loads((rc.RESULTS / "swm_compare.json").read_text())
    assert rc.artifact_configs("swm_compare.json", swm) == rc.config_chain(state_model.CONFIG)
