"""The worked task-space example as a user meets it: ``pip install`` of their package, then
``wm run`` on its config from a directory of their own, to a results table (small budget)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import TINY
from tests.envs_helpers import ROOT

PACKAGE = ROOT / "examples" / "polar_reach"
CONFIG = ROOT / "examples" / "polar_reach.yaml"


def _wm(args: list[str], cwd, pythonpath: str | None) -> subprocess.CompletedProcess:
    """``python -m wm ARGS`` in ``cwd``, the user's packages on ``pythonpath``, one thread."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(OMP_NUM_THREADS="1", MUJOCO_GL=os.environ.get("MUJOCO_GL", "egl"))
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return subprocess.run([sys.executable, "-m", "wm", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)


@pytest.mark.slow
def test_a_users_package_from_pip_install_to_a_results_table(tmp_path):
    source = shutil.copytree(PACKAGE, tmp_path / "polar_reach")  # setuptools builds in the source tree
    site = tmp_path / "site"  # where pip puts the user's package (a target dir, not this environment)
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site),
                          str(source)], capture_output=True, text=True, timeout=600)
    assert pip.returncode == 0, pip.stderr
    assert (site / "polar_reach.py").is_file()
    assert not {"build", "polar_reach.egg-info"} & {p.name for p in PACKAGE.iterdir()}  # the repository untouched
    home = tmp_path / "home"  # the user's own directory: nothing of the repository is importable from it
    home.mkdir()
    sets = [x for o in TINY for x in ("--set", o)] + ["--set", "data.workers=2"]

    missing = _wm(["run", "--config", str(CONFIG), "--out", str(home / "before"), *sets], home, None)
    assert missing.returncode == 2 and not (home / "before").exists()
    assert missing.stderr.strip() == ("error: cannot import user module 'polar_reach' "
                                      "(ModuleNotFoundError: No module named 'polar_reach')")

    done = _wm(["run", "--config", str(CONFIG), "--out", str(home / "run"), "--quiet", *sets], home, str(site))
    assert done.returncode == 0, done.stderr
    for row in ("| mpc |", "| oracle |", "| random |", " m |"):  # the table, distances in metres
        assert row in done.stdout
    result = json.loads((home / "run" / "eval" / "mpc-cem" / "results.json").read_text())
    assert result["env_label"] == "polar_reach/PolarReach-v0" and result["max_episode_steps"] == 100
    assert result["distance_units"] == "m" and result["distance_kind"] == "straight line"
    assert "warning: oracle:" in done.stderr and "straight line" in done.stderr
