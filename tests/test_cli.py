"""Every CLI verb: --help, a tiny end-to-end run, and one-line errors with a non-zero exit."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from wm.cli import main
from worldmodel.checkpoint import checkpoint_dir

VERBS = [["run"], ["collect"], ["train"], ["eval"], ["data"], ["data", "inspect"]]


@pytest.mark.parametrize("verb", VERBS, ids=[" ".join(v) for v in VERBS])
def test_help(verb, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*verb, "--help"])
    assert exc.value.code == 0
    assert "usage: wm" in capsys.readouterr().out


def test_console_script_help():
    out = subprocess.run([sys.executable, "-m", "wm.cli", "--help"], capture_output=True, text=True, check=True)
    assert "collect" in out.stdout and "eval" in out.stdout


def _sets(overrides):
    return [x for o in overrides for x in ("--set", o)]


def test_collect_train_eval_inspect(tmp_path, tiny_overrides, capsys):
    run = tmp_path / "run"
    sets = _sets(tiny_overrides)
    assert main(["collect", "--out", str(run), "--quiet", *sets]) == 0
    assert (run / "data" / "dataset.h5").exists() and (run / "config.yaml").exists()
    # collecting again refuses to overwrite; --append adds
    assert main(["collect", "--out", str(run), "--quiet", *sets]) == 2
    assert "exists" in capsys.readouterr().err
    # an append with the same seeds would repeat its episodes: refused; new seeds are added
    assert main(["collect", "--out", str(run), "--quiet", "--append", *sets]) == 2
    assert "overlap" in capsys.readouterr().err
    assert main(["collect", "--out", str(run), "--quiet", "--append", *sets, "--set", "data.seed=1000"]) == 0
    assert main(["data", "inspect", str(run / "data" / "dataset.h5")]) == 0
    assert "episodes 24" in capsys.readouterr().out
    assert main(["train", "--out", str(run), "--quiet", *sets]) == 0
    assert (checkpoint_dir(run / "checkpoints") / "model.safetensors").exists()
    assert main(["eval", "--out", str(run), "--quiet", *sets]) == 0
    out = capsys.readouterr().out
    assert "| mpc |" in out and "| oracle |" in out and "| random |" in out
    result = json.loads((run / "eval" / "mpc-cem" / "results.json").read_text())
    for key in ("env_id", "obs_type", "agent", "planner", "episodes", "seed", "success_rate", "success_ci95",
                "final_distance_mean", "plan_ms_median", "plan_ms_p95", "steps_mean", "wall_s", "config_hash",
                "git_commit", "versions"):
        assert key in result
    assert result["episodes"] == 2 and len(result["per_episode"]) == 2


def test_train_says_which_steps_it_took(tmp_path, tiny_overrides, capsys):
    """A resume that adds a predictor phase reports the phase's loss; one with nothing left says so."""
    run, sets = tmp_path / "run", _sets(tiny_overrides)
    assert main(["collect", "--out", str(run), "--quiet", *sets]) == 0
    assert main(["train", "--out", str(run), "--quiet", *sets, "--set", "train.steps=4"]) == 0
    assert "trained in" in capsys.readouterr().out
    phase = [*sets, "--set", "train.steps=4", "--set", "train.predictor_steps=3"]
    assert main(["train", "--out", str(run), "--quiet", "--resume", *phase]) == 0
    assert "predictor-phase loss" in capsys.readouterr().out
    state = torch.load(checkpoint_dir(run / "checkpoints") / "train_state.pt", weights_only=True)
    assert state["step"] == 7
    assert main(["train", "--out", str(run), "--quiet", "--resume", *phase]) == 0
    assert "already trained to 7 steps; nothing to do" in capsys.readouterr().out


def test_run_end_to_end(tmp_path, tiny_overrides, capsys):
    run = tmp_path / "r"
    assert main(["run", "--out", str(run), "--quiet", *_sets(tiny_overrides)]) == 0
    out = capsys.readouterr().out
    assert "| mpc |" in out
    assert (run / "eval" / "results.md").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["collect", "--set", "env.id=wm/Nope-v0"], "unknown env id 'wm/Nope-v0'"),
        (["collect", "--set", "env.kwargs={bogus: 1}"], "env.kwargs: wm/TwoRoom-v0 takes no argument 'bogus'"),
        (["train", "--set", "train.stepz=1"], "unknown config key 'train.stepz'"),
        (["train", "--set", "train.steps=many"], "train.steps: expected int"),
        (["eval"], "checkpoints"),
        (["train"], "dataset.h5"),
    ],
)
def test_errors_are_one_line_and_nonzero(tmp_path, capsys, args, message):
    code = main([*args[:1], "--out", str(tmp_path / "x"), "--quiet", *args[1:]])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.count("\n") == 1


def test_inspect_corrupt_file(tmp_path, capsys):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"garbage")
    assert main(["data", "inspect", str(bad)]) == 2
    assert "bad.h5" in capsys.readouterr().err


def test_out_required(capsys):
    assert main(["train"]) == 2
    assert "--out" in capsys.readouterr().err



def test_results_record_the_code_the_process_started_with(monkeypatch):
    from wm import provenance

    tree = {"commit": "a" * 40, "dirty": False}
    monkeypatch.setattr(provenance, "git_commit", lambda: tree["commit"])
    monkeypatch.setattr(provenance, "git_dirty", lambda: tree["dirty"])
    provenance.code_at_start.cache_clear()
    try:
        assert provenance.code_at_start() == ("a" * 40, False)
        tree.update(commit="b" * 40, dirty=True)  # the checkout edited while a long run goes on
        assert provenance.code_at_start() == ("a" * 40, False)
    finally:
        provenance.code_at_start.cache_clear()
