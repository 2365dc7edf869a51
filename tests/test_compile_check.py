"""The torch.compile check: eager and compiled rollouts agree, and the payback line follows the timings."""

from __future__ import annotations

import re

import pytest

from benchmarks import compile_check


@pytest.mark.slow
def test_compiled_rollout_matches_eager_and_the_line_reports_both(capsys):
    compile_check.main(["--samples", "8", "--horizon", "2", "--repeats", "3", "--iterations", "2"])
    line = capsys.readouterr().out.strip().splitlines()[-1]
    m = re.fullmatch(r"rollout 8 x 2, 1 thread\(s\): eager ([\d.]+) ms, compiled ([\d.]+) ms \(max diff (\S+)\); "
                     r"compile ([\d.]+) s, pays back after (never|\d+ plans)", line)
    assert m, line
    eager, comp, diff = float(m[1]), float(m[2]), float(m[3])
    assert eager > 0 and comp > 0 and diff < 1e-4
    # the printed times are rounded to 0.01 ms: "never" only where compiled was not faster
    assert comp >= eager - 0.01 if m[5] == "never" else comp <= eager + 0.01
