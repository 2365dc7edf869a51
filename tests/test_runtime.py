"""The ``wm`` process defaults: passive OpenMP waiting, a free-core thread count, a retaining allocator."""

import subprocess
import sys

import pytest

from wm import runtime


def test_defaults_fill_only_what_is_unset():
    env = {}
    applied = runtime.configure_process(env)
    assert env["OMP_WAIT_POLICY"] == "PASSIVE" and int(env["OMP_NUM_THREADS"]) >= 1
    assert applied["OMP_WAIT_POLICY"] == "PASSIVE"
    mine = {"OMP_WAIT_POLICY": "ACTIVE", "OMP_NUM_THREADS": "3", "WM_ALLOCATOR": "system"}
    assert runtime.configure_process(mine) == {}
    assert mine == {"OMP_WAIT_POLICY": "ACTIVE", "OMP_NUM_THREADS": "3", "WM_ALLOCATOR": "system"}


def test_free_cores_counts_the_load(monkeypatch):
    monkeypatch.setattr(runtime.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.setattr(runtime.os, "getloadavg", lambda: (1.6, 0.0, 0.0))
    assert runtime.free_cores() == 2
    monkeypatch.setattr(runtime.os, "getloadavg", lambda: (9.0, 0.0, 0.0))
    assert runtime.free_cores() == 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt")
def test_allocator_is_set_on_glibc():
    assert runtime.keep_freed_memory()
    assert runtime.configure_process({"OMP_WAIT_POLICY": "x", "OMP_NUM_THREADS": "1"}) == {"allocator": "retain"}


def test_python_dash_m_wm_is_the_cli():
    out = subprocess.run([sys.executable, "-m", "wm", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.startswith("usage: wm")
