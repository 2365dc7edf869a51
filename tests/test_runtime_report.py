"""`wm.runtime_report`: the allocator and thread-setting benchmarks rendered for BENCHMARKS.md."""

from __future__ import annotations

import json

from wm.runtime_report import runtime_markdown

MACHINE = {"cpu": "Fake CPU", "versions": {"torch": "2.13.0+cpu"}, "git_commit": "abc1234567890", "date": "2026-01-01"}


def _alloc(retain_256: float) -> dict:
    return {"config": "configs/tworoom_pixels.yaml", "steps": 10, "repeats": 3, "batch_sizes": [16, 256],
            "machine": MACHINE,
            "system": {"samples_per_s": [200.0, 100.0], "faults_per_sample": [20.0, 1300.0], "peak_mib": [400, 1200]},
            "retain": {"samples_per_s": [210.0, retain_256], "faults_per_sample": [20.0, 4.0], "peak_mib": [410, 1400]},
            "ratio": [1.05, retain_256 / 100.0]}


def _contention(competing_eval: float) -> dict:
    return {"config": "configs/tworoom_state.yaml", "steps": 300, "episodes": 10, "repeats": 3, "cpus": 2,
            "machine": MACHINE,
            "alone": {"train_steps_per_s": {"torch defaults": 28.0, "wm defaults": 20.0},
                      "eval_s": {"torch defaults": 11.0, "wm defaults": 10.0}},
            "competing": {"train_steps_per_s": {"torch defaults": 8.0, "wm defaults": 19.0},
                          "eval_s": {"torch defaults": 18.0, "wm defaults": competing_eval}}}


def test_nothing_without_the_files(tmp_path):
    assert runtime_markdown(tmp_path) == ""


def test_allocator_table_and_goal(tmp_path):
    (tmp_path / "train_alloc.json").write_text(json.dumps(_alloc(250.0)))
    md = runtime_markdown(tmp_path)
    assert "| 256 | 100 | 250 | 2.50x | 1300, 4 | 1200, 1400 |" in md
    assert "2.50x, 250 vs 210: met." in md and "Threads on a shared machine" not in md
    assert "bf16" not in md  # a file without the bf16 mode: its columns and goal line are left out
    (tmp_path / "train_alloc.json").write_text(json.dumps(_alloc(150.0)))
    assert "1.50x, 150 vs 210: NOT met." in runtime_markdown(tmp_path)


def test_allocator_table_with_the_bf16_mode(tmp_path):
    res = _alloc(150.0)
    res["retain_bf16"] = {"samples_per_s": [230.0, 320.0], "faults_per_sample": [20.0, 4.0], "peak_mib": [410, 1300]}
    res["ratio_bf16"] = [1.15, 3.2]
    (tmp_path / "train_alloc.json").write_text(json.dumps(res))
    md = runtime_markdown(tmp_path)
    assert "| 256 | 100 | 150 | 1.50x | 320 | 3.20x | 1300, 4 | 1200, 1400 |" in md
    assert "`wm` (the default): >= 1.8x glibc's and >= batch 16's samples/s: 1.50x, 150 vs 210: NOT met." in md
    assert "`wm + bf16` (opt-in): >= 1.8x glibc's and >= batch 16's samples/s: 3.20x, 320 vs 230: met." in md


def test_contention_table_and_goal(tmp_path):
    (tmp_path / "threads_contention.json").write_text(json.dumps(_contention(15.0)))
    md = runtime_markdown(tmp_path)
    assert "| train steps/s, competing | 8.0 | 19.0 |" in md and "| eval s, alone | 11.0 | 10.0 |" in md
    assert "training 1.05x and evaluation 1.50x its time alone (goal: within 2x): met." in md
    (tmp_path / "threads_contention.json").write_text(json.dumps(_contention(25.0)))
    assert "evaluation 2.50x" in runtime_markdown(tmp_path) and "NOT met" in runtime_markdown(tmp_path)
