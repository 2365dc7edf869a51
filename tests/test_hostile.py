"""A hostile or careless user: nothing is lost or silently wrong (issue 13).

Each test is one probe: overwrites refused without ``--force`` and refused commands never
write into the run; model / env / data mismatches refused before any work, naming both
sides; non-finite weights refused at load; OS errors as one line and exit 2; a checkpoint
is one unit (weights and config of the same step) and temp files of killed writes are
cleaned up; a refused pickle names its global; evaluation results are not replaced by a
smaller or different evaluation, and ``results.json`` is strict JSON; a flipped bit in a
dataset fails its checksum; planner inputs are validated.
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
from agents.planners import build_planner
from envs.dataset import DatasetError, read_dataset, write_dataset
from wm import pipeline
from wm.cli import build_parser, main
from worldmodel.checkpoint import CheckpointError, load_model, read_checkpoint_config
from worldmodel.config import ModelConfig, TrainConfig
from worldmodel.decoder_probe import DecoderProbe
from worldmodel.train import Trainer
from worldmodel.train_state import TRAIN_STATE, load_train_state

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
    path = run / "checkpoints" / "config.yaml"
    config = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**config, "env_action_dim": 3}, sort_keys=False))
    err = _one_line_error(capsys, main(["eval", "--out", str(run), "--quiet", *sets]))
    assert "actions (3,)" in err and "actions (2,)" in err and "wm/TwoRoom-v0" in err
    assert not (run / "eval").exists()


# 3. non-finite weights --------------------------------------------------------------------------------

def test_non_finite_weights_are_refused_at_load_naming_the_tensor(run, sets, capsys):
    path = run / "checkpoints" / "model.safetensors"
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
    for path in ckpt.iterdir():
        path.unlink()  # an untrained run whose checkpoint directory cannot be written
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


def _killed_at(monkeypatch, name: str):
    """``atomic_write`` that dies (as a kill would) when it reaches the file ``name``."""
    real = worldmodel.checkpoint.atomic_write

    def write(path, data):
        if Path(path).name == name:
            raise KeyboardInterrupt
        real(path, data)

    monkeypatch.setattr(worldmodel.checkpoint, "atomic_write", write)


def test_a_kill_while_writing_the_weights_leaves_weights_and_config_of_one_step(tiny_data, tmp_path, monkeypatch):
    trainer = Trainer(*_configs(), tiny_data, tmp_path, progress=False)
    trainer.fit(stop_after=2)
    ckpt = tmp_path / "checkpoints"
    weights = (ckpt / "model.safetensors").read_bytes()
    _killed_at(monkeypatch, "model.safetensors")
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(stop_after=4)  # killed inside the checkpoint write of step 4
    assert (ckpt / "model.safetensors").read_bytes() == weights
    assert read_checkpoint_config(ckpt)["step"] == 2
    load_model(ckpt)


def test_weights_newer_than_their_config_are_refused(tiny_data, tmp_path, monkeypatch):
    trainer = Trainer(*_configs(), tiny_data, tmp_path, progress=False)
    trainer.fit(stop_after=2)
    _killed_at(monkeypatch, "config.yaml")
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(stop_after=4)  # killed between the weights and the config of step 4
    with pytest.raises(CheckpointError, match=r"model.safetensors is step 4.*config.yaml.*step 2"):
        load_model(tmp_path / "checkpoints")
    assert load_train_state(tmp_path / "checkpoints")["step"] == 4  # --resume still continues from 4


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
