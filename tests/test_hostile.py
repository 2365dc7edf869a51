"""A hostile or careless user: nothing is lost or silently wrong (issue 13).

Each test is one probe: overwrites refused without ``--force`` and refused commands never
write into the run; model / env / data mismatches refused before any work, naming both
sides; non-finite weights refused at load; OS errors as one line and exit 2; a checkpoint
is one unit (weights, config and training state of one step, switched atomically: a kill at
any point of a save leaves the old unit or the new one) and what killed writes leave is
cleaned up at the next start; a refused pickle names its global; evaluation results are not
replaced by a smaller or different evaluation, and ``results.json`` is strict JSON (also from
``EvalResult.write`` outside the pipeline); evaluation seeds are never data seeds; a diverging
GCBC is one line; a flipped bit in a dataset fails its checksum; planner inputs are validated.
The kill experiment itself (``tests/kill_checkpoints.py``) runs as a slow test.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pytest
import safetensors.torch
import torch
import yaml

import worldmodel.checkpoint
from agents.config import PlanConfig
from agents.evaluate import EpisodeResult, EvalResult
from agents.gcbc_train import RelabelSampler
from agents.planners import build_planner
from envs.dataset import DatasetError, dataset_seed_ranges, read_dataset, seed_ranges_of, write_dataset
from wm import guards, pipeline
from wm.cli import build_parser, main
from worldmodel.checkpoint import (
    LATEST,
    TRAIN_STATE,
    WEIGHTS,
    CheckpointError,
    checkpoint_dir,
    clean_checkpoints,
    load_model,
    model_files,
    read_checkpoint_config,
    read_weights,
    save_model,
    write_checkpoint,
)
from worldmodel.config import ModelConfig, TrainConfig
from worldmodel.decoder_probe import DecoderProbe
from worldmodel.model import WorldModel
from worldmodel.train import Trainer
from worldmodel.train_state import load_train_state, save_train_state, train_state_bytes

EVAL_ONLY = ["eval.agents=[mpc,random]", "eval.episodes=2", "eval.max_steps=6"]


def _sets(overrides: list[str]) -> list[str]:
    return [x for o in overrides for x in ("--set", o)]


def _one_line_error(capsys, code: int) -> str:
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_overrides) -> Path:
    """A tiny run: collected and trained, not evaluated (copied by each test that changes it)."""
    run = tmp_path_factory.mktemp("hostile") / "run"
    assert main(["collect", "--out", str(run), "--quiet", *_sets(tiny_overrides)]) == 0
    assert main(["train", "--out", str(run), "--quiet", *_sets(tiny_overrides)]) == 0
    return run


@pytest.fixture
def run(trained, tmp_path) -> Path:
    return Path(shutil.copytree(trained, tmp_path / "run"))


@pytest.fixture
def sets(tiny_overrides) -> list[str]:
    return _sets(tiny_overrides)


def _digest(run: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run)): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}


# 1. silent overwrites ------------------------------------------------------------------------------

def test_train_refuses_to_replace_trained_weights_without_force(run, sets, capsys):
    before = _digest(run)
    err = _one_line_error(capsys, main(["train", "--out", str(run), "--quiet", *sets]))
    assert "--force" in err and "--resume" in err and "checkpoints" in err
    assert _digest(run) == before
    assert main(["train", "--out", str(run), "--quiet", "--force", *sets, "--set", "train.steps=4"]) == 0
    assert read_checkpoint_config(run / "checkpoints")["step"] == 4


@pytest.mark.parametrize("verb", [["collect"], ["train", "--resume"], ["run"]], ids=" ".join)
def test_a_refused_command_leaves_the_run_config_alone(run, sets, capsys, verb):
    config = (run / "config.yaml").read_bytes()
    changed = {"collect": "data.seed=7", "train": "train.lr=0.5", "run": "data.seed=7"}[verb[0]]
    code = main([*verb, "--out", str(run), "--quiet", *sets, "--set", changed])
    _one_line_error(capsys, code)
    assert (run / "config.yaml").read_bytes() == config


def test_run_on_an_existing_run_suggests_only_flags_that_run_accepts(run, sets, capsys):
    err = _one_line_error(capsys, main(["run", "--out", str(run), "--quiet", *sets]))
    run_parser = build_parser()._subparsers._group_actions[0].choices["run"]
    accepted = {s for a in run_parser._actions for s in a.option_strings}
    for flag in re.findall(r"(?<![\w-])--[a-z][\w-]*", err):
        assert flag in accepted or re.search(rf"wm (collect|train|eval) {flag}", err), (flag, err)
    assert str(run) in err


# 2. mismatches found before any work ---------------------------------------------------------------

def _widened(data, obs: bool):
    """``data`` with one extra observation (``obs``) or action dimension."""
    if obs:
        extra = np.zeros((len(data.obs), 1), np.float32)
        return replace(data, obs=np.concatenate([data.obs, extra], 1))
    extra = np.zeros((len(data.actions), 1), np.float32)
    meta = {**data.meta, "action_low": [*data.meta["action_low"], -1.0],
            "action_high": [*data.meta["action_high"], 1.0]}
    return replace(data, actions=np.concatenate([data.actions, extra], 1), meta=meta)


@pytest.mark.parametrize("field", ["obs", "actions"])
def test_dataset_shapes_that_do_not_fit_the_env_are_refused_before_training(tmp_path, tiny_data, sets, capsys,
                                                                            field):
    run = tmp_path / "run"
    write_dataset(run / "data" / "dataset.h5", _widened(tiny_data, field == "obs"))
    err = _one_line_error(capsys, main(["train", "--out", str(run), "--quiet", *sets]))
    want = "(5,)" if field == "obs" else "(3,)"
    have = "(4,)" if field == "obs" else "(2,)"
    assert want in err and have in err and "wm/TwoRoom-v0" in err
    assert not (run / "checkpoints").exists() and not (run / "config.yaml").exists()


def test_action_bounds_of_another_size_are_a_dataset_error(tmp_path, tiny_data):
    data = replace(tiny_data, meta={**tiny_data.meta, "action_low": [-1.0, -1.0, -1.0],
                                    "action_high": [1.0, 1.0, 1.0]})
    with pytest.raises(DatasetError, match=r"action bounds have 3 dimensions, actions 2"):
        write_dataset(tmp_path / "d.h5", data)


def test_eval_with_another_env_than_the_checkpoint_is_refused(run, sets, capsys):
    code = main(["eval", "--out", str(run), "--quiet", *sets, "--set", "env.id=wm/TwoRoomRandomWall-v0"])
    err = _one_line_error(capsys, code)
    assert "wm/TwoRoom-v0" in err and "wm/TwoRoomRandomWall-v0" in err
    assert not (run / "eval").exists()


def test_eval_with_a_checkpoint_of_another_action_size_is_refused(run, sets, capsys):
    path = checkpoint_dir(run / "checkpoints") / "config.yaml"
    config = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**config, "env_action_dim": 3}, sort_keys=False))
    err = _one_line_error(capsys, main(["eval", "--out", str(run), "--quiet", *sets]))
    assert "actions (3,)" in err and "actions (2,)" in err and "wm/TwoRoom-v0" in err
    assert not (run / "eval").exists()


# 3. non-finite weights --------------------------------------------------------------------------------

def test_non_finite_weights_are_refused_at_load_naming_the_tensor(run, sets, capsys):
    path = checkpoint_dir(run / "checkpoints") / "model.safetensors"
    weights = safetensors.torch.load(path.read_bytes())
    name = sorted(k for k, v in weights.items() if v.is_floating_point())[0]
    weights[name] = torch.full_like(weights[name], float("nan"))
    path.write_bytes(safetensors.torch.save(weights, metadata=safetensors.safe_open(
        path, "pt").metadata()))
    with pytest.raises(CheckpointError, match=re.escape(f"non-finite values in tensor {name!r}")):
        load_model(run / "checkpoints")
    err = _one_line_error(capsys, main(["eval", "--out", str(run), "--quiet", *sets]))
    assert name in err
    assert not (run / "eval").exists()


# 4. OS errors -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["under_a_file", "a_file"])
def test_out_that_is_or_is_under_a_file_is_one_line(tmp_path, sets, capsys, where):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    out = blocker / "run" if where == "under_a_file" else blocker
    err = _one_line_error(capsys, main(["collect", "--out", str(out), "--quiet", *sets]))
    assert str(blocker) in err and "not a directory" in err
    assert blocker.read_text() == "x"


@pytest.mark.parametrize("exc", [PermissionError(13, "Permission denied", "/r/x"),
                                 NotADirectoryError(20, "Not a directory", "/r/x"),
                                 FileExistsError(17, "File exists", "/r/x"), IsADirectoryError(21, "Is a directory")])
def test_any_os_error_is_one_line_and_exit_2(monkeypatch, tmp_path, capsys, exc):
    def fail(*args, **kwargs):
        raise exc

    monkeypatch.setattr(pipeline, "collect_data", fail)
    err = _one_line_error(capsys, main(["collect", "--out", str(tmp_path / "r"), "--quiet"]))
    assert "Errno" not in err and exc.strerror.lower() in err.lower()


def test_a_read_only_checkpoint_dir_is_refused_before_training(run, sets, capsys, monkeypatch):
    ckpt = run / "checkpoints"
    guards.clear_checkpoints(ckpt)  # an untrained run whose checkpoint directory cannot be written
    assert not list(ckpt.iterdir())
    started = []
    monkeypatch.setattr(pipeline, "train", lambda *a, **k: started.append(1))
    real = tempfile.mkstemp

    def read_only(*args, dir=None, **kwargs):  # root ignores chmod: refuse as the kernel would
        if Path(dir) == ckpt:
            raise PermissionError(13, "Permission denied", str(ckpt / "x"))
        return real(*args, dir=dir, **kwargs)

    if os.geteuid() == 0:
        monkeypatch.setattr(tempfile, "mkstemp", read_only)
    ckpt.chmod(0o555)
    try:
        err = _one_line_error(capsys, main(["train", "--out", str(run), "--quiet", *sets]))
    finally:
        ckpt.chmod(0o755)
    assert str(ckpt) in err and "not writable" in err and not started


# 5. a checkpoint is one unit; temp files are cleaned up -----------------------------------------------

def _configs() -> tuple[ModelConfig, TrainConfig]:
    return (ModelConfig(latent_dim=4, hidden_dim=16, frameskip=2),
            TrainConfig(steps=8, batch_size=16, pred_steps=2, eval_every=4, log_every=2, checkpoint_every=100))


def _unit_files(step: int) -> dict[str, bytes]:
    """The files of a checkpoint unit of ``step`` (a tiny model; the training state holds the step)."""
    torch.manual_seed(step)
    model = WorldModel(ModelConfig(latent_dim=4, hidden_dim=16, frameskip=2), (4,), 2)
    return {**model_files(model, {"step": step}), TRAIN_STATE: train_state_bytes({"step": step})}


def _one_step(ckpt: Path) -> int:
    """The step of the current checkpoint, after checking its weights, config and training state agree."""
    steps = {read_checkpoint_config(ckpt)["step"], int(read_weights(checkpoint_dir(ckpt) / WEIGHTS)[1]["step"]),
             load_train_state(ckpt)["step"]}
    assert len(steps) == 1, steps
    load_model(ckpt)
    return steps.pop()


def _kill_hook(point: str):
    """What to patch in the (forked) writer so that it dies, as under SIGKILL, at ``point`` of a save."""
    ckpt_module = worldmodel.checkpoint

    def die(*args, **kwargs):
        os._exit(137)

    if point.startswith("inside "):  # half of that file written, then killed
        name, real = point.split()[1], ckpt_module._write_file

        def write(path, data):
            if path.name != name:
                return real(path, data)
            with open(path, "wb") as fh:
                fh.write(data[: len(data) // 2])
            die()
        return "_write_file", write
    if point == "unit renamed, not switched":
        return "_switch", die
    if point == "pointer written, not replaced":
        return "os", type("os", (), {"replace": staticmethod(die), "__getattr__": lambda self, k: getattr(os, k)})()
    real_remove = ckpt_module._remove_superseded
    return "_remove_superseded", lambda d, keep: die() if keep.startswith("step-00000004") else real_remove(d, keep)


KILL_POINTS = [f"inside {name}" for name in (WEIGHTS, "config.yaml", TRAIN_STATE)] + [
    "unit renamed, not switched", "pointer written, not replaced", "switched, old unit not removed"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_kill_at_any_point_of_a_save_leaves_one_complete_unit(tmp_path, point):
    ckpt = tmp_path / "checkpoints"
    write_checkpoint(ckpt, 2, _unit_files(2))
    files = _unit_files(4)
    pid = os.fork()
    if pid == 0:  # the writer: it only writes files, and dies at `point`
        try:
            name, hook = _kill_hook(point)
            setattr(worldmodel.checkpoint, name, hook)
            write_checkpoint(ckpt, 4, files)
        finally:
            os._exit(1)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 137, "the writer did not reach the kill point"
    survived = _one_step(ckpt)  # what wm eval and --resume see right after the kill: one unit, whole
    assert survived == (4 if point.startswith("switched") else 2)
    left = sorted(p.name for p in ckpt.iterdir())
    clean_checkpoints(ckpt)  # the next start
    assert sorted(p.name for p in ckpt.iterdir()) == [LATEST, checkpoint_dir(ckpt).name], left
    assert _one_step(ckpt) == survived


def test_a_save_switches_units_and_keeps_only_the_current_one(tmp_path):
    ckpt = tmp_path / "checkpoints"
    for step in (2, 4, 4):  # a step saved again gets a unit of its own
        unit = write_checkpoint(ckpt, step, _unit_files(step))
        assert checkpoint_dir(ckpt) == unit and _one_step(ckpt) == step
        assert sorted(p.name for p in ckpt.iterdir()) == [LATEST, unit.name]
    assert unit.name == "step-00000004-1"


def test_a_reader_whose_unit_a_save_removes_reads_the_new_unit(tmp_path, monkeypatch):
    ckpt = tmp_path / "checkpoints"
    write_checkpoint(ckpt, 2, _unit_files(2))
    real = worldmodel.checkpoint.read_weights
    saves = []

    def save_first(path):  # a concurrent `wm train` switches to step 4 after the reader resolved step 2
        if not saves:
            saves.append(write_checkpoint(ckpt, 4, _unit_files(4)))
        return real(path)

    monkeypatch.setattr(worldmodel.checkpoint, "read_weights", save_first)
    model = load_model(ckpt)
    assert saves and not (ckpt / "step-00000002").exists()
    expected = WorldModel(ModelConfig(latent_dim=4, hidden_dim=16, frameskip=2), (4,), 2)
    expected.load_state_dict(safetensors.torch.load(_unit_files(4)[WEIGHTS]))
    pairs = zip(model.state_dict().values(), expected.state_dict().values(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)


def test_a_flat_checkpoint_of_an_earlier_version_is_read_resumed_and_replaced_by_a_unit(tiny_data, tmp_path):
    straight = Trainer(*_configs(), tiny_data, tmp_path / "a", progress=False)
    straight.fit()
    Trainer(*_configs(), tiny_data, tmp_path / "b", progress=False).fit(stop_after=4)
    ckpt = tmp_path / "b" / "checkpoints"
    unit = checkpoint_dir(ckpt)
    for path in unit.iterdir():  # the layout of earlier versions: the files directly in checkpoints/
        path.rename(ckpt / path.name)
    unit.rmdir()
    (ckpt / LATEST).unlink()
    assert checkpoint_dir(ckpt) == ckpt and _one_step(ckpt) == 4
    resumed = Trainer(*_configs(), tiny_data, tmp_path / "b", progress=False, resume=True)
    assert resumed.step_count == 4
    resumed.fit()
    assert sorted(p.name for p in ckpt.iterdir()) == [LATEST, "step-00000008"]
    assert all(torch.equal(v, resumed.model.state_dict()[k]) for k, v in straight.model.state_dict().items())


def test_flat_weights_newer_than_their_config_are_refused(tmp_path, monkeypatch):
    """A flat checkpoint (``save_model``, earlier versions) stamps the step into its weights too."""
    model = WorldModel(ModelConfig(latent_dim=4, hidden_dim=16, frameskip=2), (4,), 2)
    save_model(tmp_path, model, {"step": 2})
    save_train_state(tmp_path, {"step": 2})
    real = worldmodel.checkpoint.atomic_write

    def write(path, data):
        if Path(path).name == "config.yaml":
            raise KeyboardInterrupt  # killed between the weights and the config of step 4
        real(path, data)

    monkeypatch.setattr(worldmodel.checkpoint, "atomic_write", write)
    with pytest.raises(KeyboardInterrupt):
        save_model(tmp_path, model, {"step": 4})
    with pytest.raises(CheckpointError, match=r"model.safetensors is step 4.*config.yaml.*step 2"):
        load_model(tmp_path)


@pytest.mark.slow
def test_kills_aimed_at_checkpoint_writes_lose_nothing(tmp_path):
    """The kill experiment (``tests/kill_checkpoints.py``): SIGKILL at random moments, mostly inside saves."""
    from tests.kill_checkpoints import run_experiment

    report = run_experiment(tmp_path, kills=18, seed=0)
    assert report["kills"] == 18 and report["resumes"] >= 9
    assert report["stale"] == report["unloadable"] == report["lost"] == report["orphaned"] == 0, report
    assert report["bit_identical"], report


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


def test_temp_files_of_killed_writes_are_removed_by_the_next_write(tiny_data, tmp_path):
    pid = _dead_pid()
    ckpt, data_dir = tmp_path / "checkpoints", tmp_path / "data"
    ckpt.mkdir()
    data_dir.mkdir()
    orphans = [ckpt / f".model.safetensors.tmp{pid}", ckpt / f".{TRAIN_STATE}.tmp{pid}",
               data_dir / f".dataset.h5.tmp{pid}"]
    for orphan in orphans:
        orphan.write_bytes(b"partial")
    live = ckpt / f".config.yaml.tmp{os.getppid()}"  # a writer that is still running: kept
    live.write_bytes(b"partial")
    Trainer(*_configs(), tiny_data, tmp_path, progress=False).fit(stop_after=1)
    write_dataset(data_dir / "dataset.h5", tiny_data)
    assert not any(p.exists() for p in orphans)
    assert live.exists()
    assert sorted(p.name for p in ckpt.iterdir() if p.name.startswith(".")) == [live.name]


# 6. a refused pickle names the blocked global ----------------------------------------------------------

class _Payload:
    def __reduce__(self):
        return (os.system, ("true",))


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_a_refused_pickle_names_the_global_and_gives_no_unsafe_advice(tmp_path, legacy):
    path = tmp_path / TRAIN_STATE
    torch.save({"step": 1, "payload": _Payload()}, path, _use_new_zipfile_serialization=not legacy)
    with pytest.raises(CheckpointError) as exc:
        load_train_state(tmp_path)
    message = str(exc.value)
    assert "posix.system" in message and str(path) in message
    assert "weights_only" not in message and "\n" not in message


def test_a_raw_pickle_names_the_refused_opcode(tmp_path):
    (tmp_path / TRAIN_STATE).write_bytes(pickle.dumps({"step": 1, "payload": _Payload()}, protocol=4))
    with pytest.raises(CheckpointError) as exc:
        load_train_state(tmp_path)
    assert "weights_only" not in str(exc.value) and "posix.system" in str(exc.value)


# 7. evaluation results are not replaced or mixed -------------------------------------------------------

def test_eval_refuses_to_replace_results_with_a_smaller_evaluation(run, sets, capsys):
    assert main(["eval", "--out", str(run), "--quiet", *sets, *_sets(EVAL_ONLY)]) == 0
    assert main(["eval", "--out", str(run), "--quiet", *sets, *_sets(EVAL_ONLY)]) == 0  # same evaluation: fine
    before = _digest(run / "eval")
    capsys.readouterr()
    code = main(["eval", "--out", str(run), "--quiet", *sets, *_sets(EVAL_ONLY), "--set", "eval.episodes=1"])
    err = _one_line_error(capsys, code)
    assert "--force" in err and "2 episodes" in err and "1 episode" in err
    assert {k: v for k, v in _digest(run / "eval").items() if k.endswith(".json")} == \
        {k: v for k, v in before.items() if k.endswith(".json")}
    code = main(["eval", "--out", str(run), "--quiet", "--force", *sets, *_sets(EVAL_ONLY),
                 "--set", "eval.episodes=1"])
    assert code == 0
    assert json.loads((run / "eval" / "random" / "results.json").read_text())["episodes"] == 1


def test_eval_of_another_env_into_a_run_is_refused_even_without_a_model(run, sets, capsys):
    code = main(["eval", "--out", str(run), "--quiet", *sets, "--set", "eval.agents=[random]",
                 "--set", "env.id=wm/TwoRoomRandomWall-v0"])
    err = _one_line_error(capsys, code)
    assert "wm/TwoRoom-v0" in err and "wm/TwoRoomRandomWall-v0" in err and "config.yaml" in err
    assert not (run / "eval").exists()


def test_results_json_is_strict_json(run, sets):
    assert main(["eval", "--out", str(run), "--quiet", *sets, *_sets(EVAL_ONLY)]) == 0

    def refuse(name: str):
        raise ValueError(f"non-standard JSON constant {name}")

    result = json.loads((run / "eval" / "random" / "results.json").read_text(), parse_constant=refuse)
    assert result["plan_ms_median"] is None
    assert read_dataset(run / "data" / "dataset.h5").num_episodes == 12


def test_eval_result_write_outside_the_pipeline_is_strict_json(tmp_path):
    episodes = [EpisodeResult(seed=5, success=False, final_distance=float("nan"), steps=3),
                EpisodeResult(seed=6, success=True, final_distance=np.float32(0.5), steps=2, plan_ms=[1.0], index=1)]
    result = EvalResult("wm/TwoRoom-v0", "mine", episodes, 5, 0.1, {"note": np.float64("inf"), "ids": np.arange(2)})
    result.write(tmp_path / "r.json")

    def refuse(name: str):
        raise ValueError(f"non-standard JSON constant {name}")

    body = json.loads((tmp_path / "r.json").read_text(), parse_constant=refuse)
    assert body["final_distance_mean"] is None and body["note"] is None and body["ids"] == [0, 1]
    assert body["per_episode"][0]["final_distance"] is None and body["per_episode"][1]["final_distance"] == 0.5
    assert body["plan_ms_median"] == 1.0 and body["success_rate"] == 0.5


# seeds: evaluation episodes are never training episodes ------------------------------------------------

@pytest.mark.parametrize("verb", ["eval", "run", "collect"])
def test_evaluation_seeds_among_the_data_seeds_are_refused_before_any_work(run, sets, capsys, tmp_path, verb):
    before = _digest(run)
    out = run if verb == "eval" else tmp_path / "new"
    err = _one_line_error(capsys, main([verb, "--out", str(out), "--quiet", *sets, "--set", "eval.seed=10"]))
    assert "[10, 12) (eval.seed=10, eval.episodes=2)" in err and "[0, 12) (data.seed=0, data.episodes=12)" in err
    assert _digest(run) == before and not (tmp_path / "new").exists()


def test_adjacent_seed_ranges_are_disjoint():
    guards.check_seeds_disjoint(0, 12, 12, 2)
    guards.check_seeds_disjoint(5, 10, 0, 5)
    with pytest.raises(guards.RunError, match=r"set eval.seed >= 15 or eval.seed \+ eval.episodes <= 5"):
        guards.check_seeds_disjoint(5, 10, 0, 6)


def test_evaluation_seeds_among_the_recorded_seeds_are_refused_when_the_config_forgot_them(run, sets, capsys):
    # the config's data.seed no longer describes the file (edited after collection, or a reused data.path)
    before = _digest(run)
    err = _one_line_error(capsys, main(["eval", "--out", str(run), "--quiet", *sets, "--set", "data.seed=500",
                                        "--set", "eval.seed=10"]))
    assert "dataset.h5" in err and "recorded from seeds [0, 12)" in err and "evaluation (eval.seed" in err
    assert _digest(run) == before


def test_appending_seeds_already_recorded_is_refused_and_new_seeds_are_recorded(run, sets, capsys):
    path = run / "data" / "dataset.h5"
    before = _digest(run)
    err = _one_line_error(capsys, main(["collect", "--append", "--out", str(run), "--quiet", *sets,
                                        "--set", "data.seed=6"]))
    assert "[0, 12)" in err and "new data (data.seed" in err
    assert _digest(run) == before
    assert main(["collect", "--append", "--out", str(run), "--quiet", *sets, "--set", "data.seed=40",
                 "--set", "data.episodes=3"]) == 0
    assert dataset_seed_ranges(path) == [[0, 12], [40, 3]]
    assert read_dataset(path).num_episodes == 15


def test_seed_ranges_of_files_written_before_they_were_recorded():
    assert seed_ranges_of({"seed": 7}, 4) == [[7, 4]]
    assert seed_ranges_of({"seed": 7, "seed_ranges": np.zeros((0, 2), np.int64)}, 4) == []  # unknown (Minari)
    assert seed_ranges_of({}, 4) == []
    guards.check_dataset_seeds(Path("d.h5"), [[0, 12], [40, 3]], 12, 28, "evaluation")
    with pytest.raises(guards.RunError, match=r"d.h5: .*\[40, 43\), which overlap the evaluation seeds \[12, 41\)"):
        guards.check_dataset_seeds(Path("d.h5"), [[0, 12], [40, 3]], 12, 29, "evaluation")


# GCBC: a diverged policy is one line, never a result ------------------------------------------------------

def test_gcbc_diverging_inside_wm_eval_is_one_line_and_nothing_is_written(run, sets, capsys, monkeypatch):
    real = RelabelSampler.sample

    def poisoned(self, batch_size, gen):
        obs, goal, action = real(self, batch_size, gen)
        return obs, goal, action * float("nan")

    monkeypatch.setattr(RelabelSampler, "sample", poisoned)
    code = main(["eval", "--out", str(run), "--quiet", *sets, "--set", "eval.agents=[gcbc]",
                 "--set", "eval.gcbc_steps=5"])
    err = _one_line_error(capsys, code)
    assert "gcbc: non-finite loss (nan) at step 0 of 5" in err
    assert not (run / "eval" / "gcbc").exists() and not any((run / "gcbc").glob("*/model.safetensors"))


# 8. lesser: checksums, planner inputs, the decoder probe -------------------------------------------------

def test_a_flipped_bit_in_a_data_chunk_is_a_checksum_error(tmp_path, tiny_data):
    path = tmp_path / "d.h5"
    write_dataset(path, tiny_data)
    with h5py.File(path, "r") as f:
        offset = f["states"].id.get_chunk_info(0).byte_offset
    raw = bytearray(path.read_bytes())
    raw[offset + 7] ^= 0x10
    path.write_bytes(bytes(raw))
    with pytest.raises(DatasetError, match=r"d.h5: field 'states' is unreadable \(checksum mismatch"):
        read_dataset(path)


@pytest.mark.parametrize("name", ["cem", "icem", "mppi", "gd", "cem_gd"])
@pytest.mark.parametrize(("low", "high", "init", "message"), [
    ([-1.0, -1.0], [1.0, 1.0], float("nan"), "init: has non-finite"),
    ([-1.0, -float("inf")], [1.0, 1.0], None, "bounds: must be finite"),
    ([1.0, -1.0], [-1.0, 1.0], None, "bounds: low .* exceeds high"),
], ids=["nan-init", "inf-bound", "low>high"])
def test_planner_inputs_are_validated(name, low, high, init, message):
    planner = build_planner(PlanConfig(planner=name, samples=8, iterations=2, elites=2, refine_steps=1))
    start = None if init is None else torch.full((3, 2), init)

    def cost(actions: torch.Tensor) -> torch.Tensor:
        return actions.pow(2).sum((1, 2))

    with pytest.raises(ValueError, match=message):
        planner.plan(cost, 3, torch.tensor(low), torch.tensor(high), start)


def test_a_non_finite_decoder_probe_is_refused(tmp_path):
    probe = DecoderProbe(4, (32, 32, 3), 4)
    next(probe.parameters()).data.fill_(float("inf"))
    probe.save(tmp_path)
    with pytest.raises(CheckpointError, match="non-finite values in tensor"):
        DecoderProbe.load(tmp_path)
