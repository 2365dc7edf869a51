"""The ``wm`` process defaults: passive OpenMP waiting, a free-core thread count, a retaining allocator."""

import subprocess
import sys

import pytest

from wm import runtime


def test_defaults_fill_only_what_is_unset(monkeypatch):
    monkeypatch.setattr(runtime, "free_cores", lambda: 1)
    monkeypatch.setattr(runtime, "usable_cores", lambda: 2)
    env = {}
    applied = runtime.configure_process(env)
    assert env["OMP_WAIT_POLICY"] == "PASSIVE" and env["OMP_NUM_THREADS"] == "1"
    assert applied["OMP_WAIT_POLICY"] == "PASSIVE"
    mine = {"OMP_WAIT_POLICY": "ACTIVE", "OMP_NUM_THREADS": "3", "WM_ALLOCATOR": "system"}
    assert runtime.configure_process(mine) == {}
    assert mine == {"OMP_WAIT_POLICY": "ACTIVE", "OMP_NUM_THREADS": "3", "WM_ALLOCATOR": "system"}


def test_passive_waiting_only_where_cores_are_shared(monkeypatch):
    monkeypatch.setattr(runtime, "usable_cores", lambda: 2)
    monkeypatch.setattr(runtime, "free_cores", lambda: 2)  # idle: OpenMP's own short spin is kept
    env = {}
    runtime.configure_process(env)
    assert env["OMP_NUM_THREADS"] == "2" and "OMP_WAIT_POLICY" not in env
    env = {"OMP_NUM_THREADS": "2"}  # set by hand: others may share the cores
    runtime.configure_process(env)
    assert env["OMP_WAIT_POLICY"] == "PASSIVE"


def test_free_cores_counts_the_busy_cores(monkeypatch):
    monkeypatch.setattr(runtime.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.setattr(runtime, "busy_cores", lambda: 1.8)  # one competitor at full speed, one mostly
    assert runtime.free_cores() == 2
    monkeypatch.setattr(runtime, "busy_cores", lambda: 0.6)  # start-up noise, not a competitor
    assert runtime.free_cores() == 4
    monkeypatch.setattr(runtime, "busy_cores", lambda: 1.0)
    assert runtime.free_cores() == 3
    monkeypatch.setattr(runtime, "busy_cores", lambda: 9.0)
    assert runtime.free_cores() == 1


def test_free_cores_falls_back_to_the_load_average(monkeypatch):
    monkeypatch.setattr(runtime.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.setattr(runtime, "busy_cores", lambda: None)
    monkeypatch.setattr(runtime.os, "getloadavg", lambda: (0.4, 0.0, 0.0))
    assert runtime.free_cores() == 4


def _stat(path, busy: int, idle: int, cpus: int = 2) -> None:
    """A /proc/stat with ``busy`` user jiffies and ``idle`` idle jiffies (plus 1 iowait), over ``cpus`` CPUs."""
    rows = [f"cpu  {busy} 0 0 {idle} 1 0 0 0 0 0"] + [f"cpu{i} 0 0 0 0 0 0 0 0 0 0" for i in range(cpus)]
    path.write_text("\n".join([*rows, "intr 0", "ctxt 0"]) + "\n")


def test_busy_cores_reads_two_samples_of_proc_stat(tmp_path, monkeypatch):
    path = tmp_path / "stat"
    _stat(path, busy=100, idle=100)
    assert runtime.cpu_times(str(path)) == (100, 201, 2)

    def later(seconds):  # between the two reads one of the two CPUs was busy: 10 busy, 10 idle jiffies
        _stat(path, busy=110, idle=110)
    monkeypatch.setattr(runtime.time, "sleep", later)
    assert runtime.busy_cores(0.1, str(path)) == pytest.approx(1.0)


def test_busy_cores_is_none_where_proc_stat_is_unreadable(tmp_path):
    assert runtime.busy_cores(0.0, str(tmp_path / "missing")) is None
    (tmp_path / "bad").write_text("not a stat file\n")
    assert runtime.busy_cores(0.0, str(tmp_path / "bad")) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/stat")
def test_busy_cores_reads_this_machine():
    busy = runtime.busy_cores()
    assert busy is not None and 0.0 <= busy <= (runtime.cpu_times() or (0, 0, 1))[2] + 0.5


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt")
def test_allocator_is_set_on_glibc():
    assert runtime.keep_freed_memory()
    assert runtime.configure_process({"OMP_WAIT_POLICY": "x", "OMP_NUM_THREADS": "1"}) == {"allocator": "retain"}


def test_python_dash_m_wm_is_the_cli():
    out = subprocess.run([sys.executable, "-m", "wm", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.startswith("usage: wm")
