"""The thread-contention benchmark: the variables under test are cleared, the competitor is always stopped."""

from __future__ import annotations

import argparse
import json

import pytest

from benchmarks import threads_contention as tc


def test_the_children_see_none_of_the_settings_under_test(monkeypatch):
    for key in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "WM_ALLOCATOR"):
        monkeypatch.setenv(key, "1")
    monkeypatch.setenv("SOMETHING_ELSE", "kept")
    env = tc.clean_env()
    assert not {"OMP_NUM_THREADS", "OMP_WAIT_POLICY", "WM_ALLOCATOR"} & set(env) and env["SOMETHING_ELSE"] == "kept"


class _Competitor:
    started: list = []

    def __init__(self, args, env):
        self.killed = self.waited = False
        _Competitor.started.append(self)

    def kill(self):
        self.killed = True

    def wait(self):
        self.waited = True


def _args() -> argparse.Namespace:
    return argparse.Namespace(repeats=3, steps=30, episodes=2)


def test_timed_takes_medians_per_launcher_and_stops_the_competitor(tmp_path, monkeypatch):
    _Competitor.started = []
    monkeypatch.setattr(tc.subprocess, "Popen", _Competitor)
    times = iter([1.0, 3.0, 2.0, 6.0, 5.0, 4.0] * 2)  # train seconds per launcher, alternated
    monkeypatch.setattr(tc, "train_seconds", lambda name, run, steps: next(times))
    monkeypatch.setattr(tc, "eval_seconds", lambda name, trained, episodes: 1.5 if name == "wm defaults" else 2.5)
    alone = tc.timed(tmp_path, tmp_path, _args(), competing=False)
    assert _Competitor.started == []
    assert alone["train_steps_per_s"] == {"torch defaults": 30 / 2.0, "wm defaults": 30 / 4.0}
    assert alone["eval_s"] == {"torch defaults": 2.5, "wm defaults": 1.5}
    tc.timed(tmp_path, tmp_path, _args(), competing=True)
    (comp,) = _Competitor.started
    assert comp.killed and comp.waited


def test_the_competitor_is_stopped_when_a_measurement_fails(tmp_path, monkeypatch):
    _Competitor.started = []
    monkeypatch.setattr(tc.subprocess, "Popen", _Competitor)

    def fails(*args):
        raise RuntimeError("wm train failed")

    monkeypatch.setattr(tc, "train_seconds", fails)
    with pytest.raises(RuntimeError):
        tc.timed(tmp_path, tmp_path, _args(), competing=True)
    assert _Competitor.started[0].killed


def test_main_writes_both_cases(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(tc, "setup", lambda tmp: (tmp, tmp))
    fake = {"train_steps_per_s": {"torch defaults": 2.0, "wm defaults": 4.0},
            "eval_s": {"torch defaults": 3.0, "wm defaults": 1.5}}
    monkeypatch.setattr(tc, "timed", lambda run, trained, args, competing: fake)
    tc.main(["--out-dir", str(tmp_path)])
    res = json.loads((tmp_path / "threads_contention.json").read_text())
    assert res["alone"] == res["competing"] == fake and res["machine"]["git_commit"]
    out = capsys.readouterr().out
    assert "| wm train steps/s, competing | 2.0 | 4.0 | 2.00x |" in out
    assert "| wm eval s (10 episodes), alone | 3.0 | 1.5 | 2.00x |" in out
