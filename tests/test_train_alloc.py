"""The allocator benchmark: each child applies the allocator it was given; medians, ratios and the artifact."""

from __future__ import annotations

import json

from benchmarks import train_alloc


def test_each_child_trains_under_the_allocator_of_its_mode():
    system, retain = train_alloc.measure("system", 2, 1), train_alloc.measure("retain", 2, 1)
    assert "allocator" not in system["applied"] and retain["applied"]["allocator"] == "retain"
    for r in (system, retain):
        assert r["samples_per_s"] > 0 and r["samples_per_cpu_s"] > 0 and r["peak_mib"] > 0
        assert r["faults_per_sample"] >= 0


def _fake_measure(calls: list):
    def measure(mode: str, batch: int, steps: int) -> dict:
        calls.append((mode, batch))
        repeat = calls.count((mode, batch)) - 1  # this mode and batch's 1st, 2nd, 3rd measurement: x1, x3, x2
        rate = {"system": 100.0, "retain": 150.0, "retain_bf16": 200.0}[mode] * (1, 3, 2)[repeat % 3]
        return {"samples_per_s": rate, "samples_per_cpu_s": rate / 2, "faults_per_sample": 1.0, "peak_mib": 10.0}
    return measure


def test_sweep_alternates_the_modes_and_keeps_medians(monkeypatch):
    calls: list = []
    monkeypatch.setattr(train_alloc, "measure", _fake_measure(calls))
    res = train_alloc.sweep([16, 64], steps=1, repeats=3)
    assert calls[:3] == [("system", 16), ("retain", 16), ("retain_bf16", 16)]  # modes alternate per batch
    assert len(calls) == 3 * 2 * 3
    for mode, base in (("system", 100.0), ("retain", 150.0), ("retain_bf16", 200.0)):
        assert res[mode]["samples_per_s"] == [2 * base, 2 * base]  # the median of x1, x2, x3
        assert res[mode]["samples_per_cpu_s"] == [base, base]


def test_main_writes_the_ratios_to_glibc(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(train_alloc, "measure", _fake_measure([]))
    train_alloc.main(["--quick", "--out-dir", str(tmp_path)])
    res = json.loads((tmp_path / "train_alloc_quick.json").read_text())
    assert res["batch_sizes"] == [16, 64] and res["machine"]["git_commit"]
    assert res["ratio"] == [res["retain"]["samples_per_s"][i] / res["system"]["samples_per_s"][i] for i in (0, 1)]
    assert res["ratio_bf16"][0] == res["retain_bf16"]["samples_per_s"][0] / res["system"]["samples_per_s"][0]
    assert "retain / system" in capsys.readouterr().out
