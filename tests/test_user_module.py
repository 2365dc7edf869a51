"""Bring your own module: ``wm <verb> --import MODULE`` / ``env.imports`` import a user module
(which registers its env ids) before the env is made; the working directory is on the path;
a failing import is one line naming the module, exit 2."""

from __future__ import annotations

import itertools
import sys
import uuid

import gymnasium as gym
import pytest

from envs.dataset import read_dataset
from envs.imports import UserModuleError, import_user_modules
from envs.registration import make_env
from tests.envs_helpers import ROOT
from wm.cli import main

_count = itertools.count()


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """A module ``wmuser_<hex>`` in the (new) working directory registering ``user<hex>/Reach-v0``
    (the example point-reach env, 37 steps); removed from ``sys.modules`` and the registry after."""
    tag = f"{uuid.uuid4().hex[:8]}{next(_count)}"
    name, env_id = f"wmuser_{tag}", f"user{tag}/Reach-v0"
    (tmp_path / f"{name}.py").write_text(
        "import gymnasium as gym\n"
        f"gym.register(id={env_id!r}, entry_point='examples.point_reach:PointReachEnv', max_episode_steps=37)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))] + [str(ROOT)])
    yield name, env_id
    sys.modules.pop(name, None)
    gym.registry.pop(env_id, None)


def _custom_sets(env_id: str) -> list[str]:
    kwargs = {"env_id": env_id, "goal": "attr:target", "achieved": "qpos[0:2]", "success": "info:is_success"}
    return ["env.id=wm/Custom-v0", *(f"env.kwargs.{k}={v}" for k, v in kwargs.items()),
            "data.episodes=3", "data.episode_steps=10"]


def _args(sets: list[str]) -> list[str]:
    return [x for s in sets for x in ("--set", s)]


def test_import_registers_an_id_from_the_working_directory(user_module):
    name, env_id = user_module
    assert env_id not in gym.registry
    env = make_env("wm/Custom-v0", imports=[name], env_id=env_id, goal="attr:target", achieved="qpos[0:2]")
    assert env_id in gym.registry
    assert env.spec.max_episode_steps == 37  # the user's registration, not wm/Custom-v0's 200
    env.close()


@pytest.mark.parametrize("how", ["flag", "config"])
def test_collect_with_a_user_module(user_module, tmp_path, capsys, how):
    name, env_id = user_module
    sets = _custom_sets(env_id) + ([f"env.imports=[{name}]"] if how == "config" else [])
    flags = ["--import", name] if how == "flag" else []
    assert main(["collect", "--out", str(tmp_path / "run"), "--quiet", *flags, *_args(sets)]) == 0
    data = read_dataset(tmp_path / "run" / "data" / "dataset.h5")
    assert data.num_episodes == 3
    assert data.meta["env_kwargs"]["imports"] == [name]  # recorded: a later verb imports it again
    assert name in (tmp_path / "run" / "config.yaml").read_text()


def test_spawned_collection_workers_import_it_too(user_module, tmp_path):
    name, env_id = user_module
    sets = [*_custom_sets(env_id), "data.workers=2"]
    assert main(["collect", "--out", str(tmp_path / "run"), "--quiet", "--import", name, *_args(sets)]) == 0
    assert read_dataset(tmp_path / "run" / "data" / "dataset.h5").num_episodes == 3


@pytest.mark.parametrize(("source", "reason"), [
    ("", "ModuleNotFoundError: No module named"),
    ("raise RuntimeError('no licence file')\n", "RuntimeError: no licence file"),
    ("def broken(:\n", "SyntaxError"),
])
def test_a_failing_import_is_one_line_exit_2(tmp_path, monkeypatch, capsys, source, reason):
    monkeypatch.chdir(tmp_path)
    name = f"wmbroken_{uuid.uuid4().hex[:8]}"
    if source:
        (tmp_path / f"{name}.py").write_text(source)
    assert main(["collect", "--out", str(tmp_path / "run"), "--quiet", "--import", name]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert f"cannot import user module {name!r}" in err and reason in err
    assert not (tmp_path / "run").exists()  # nothing was written


def test_an_unregistered_id_says_how_to_register_it(tmp_path, capsys):
    sets = _custom_sets("nobody/Reach-v0")
    assert main(["collect", "--out", str(tmp_path / "run"), "--quiet", *_args(sets)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'nobody/Reach-v0'" in err and "--import MODULE" in err
    assert main(["collect", "--out", str(tmp_path / "run"), "--quiet", "--set", "env.id=mine/Env-v0"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'mine/Env-v0'" in err and "env.imports" in err


def test_a_file_path_imports_too(tmp_path):
    path = tmp_path / "registers.py"
    path.write_text("VALUE = 41 + 1\n")
    (module,) = import_user_modules([str(path)])
    assert module.VALUE == 42
    with pytest.raises(UserModuleError, match="no such file"):
        import_user_modules([str(tmp_path / "missing.py")])
