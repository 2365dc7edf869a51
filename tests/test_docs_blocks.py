"""Every fenced code block of README.md and docs/*.md runs, in a temporary working directory.

* ``python``: run in a subprocess; it must exit 0.
* ``bash`` / ``sh``: run by ``bash -e -o pipefail``; it must exit 0.
* ``console``: each ``$ command`` is run by bash; every output line shown after it must appear in
  its output, in order (``...`` stands for any text); the exit status is 0, or the one announced
  by ``<!-- exit-status: N -->`` on the line before the block.
* ``yaml``: loaded as a run config (``wm.config.load_config``); with ``<!-- excerpt-of: PATH -->``
  before it, every key and value it shows must also be in PATH.
* Any other block (an unlabelled fence, ``text``...) and any block too expensive to run
  (``pip install``, a full ``wm run``, ``wm bench``) must say why it is not run, with
  ``<!-- skip-test: reason -->`` on the line before it; an unmarked block that cannot run fails.
  ``<!-- slow-test: reason -->`` runs a block that takes more than a few seconds only in the full
  suite (``-m "not slow"`` deselects it).

The working directory holds links to ``configs/`` and ``examples/`` and, built on demand, tiny trained
runs at the paths the docs name: ``runs/demo`` (TwoRoom state) and ``runs/pixels`` (TwoRoom pixels with
a decoder probe).  The quick start, which is skipped, is checked against ``.ci/run`` instead.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DOC_FILES = [README, *sorted((REPO / "docs").glob("*.md"))]
TIMEOUT_S = 300
RUNNABLE = ("python", "bash", "sh", "console", "yaml")
MARKER_KEYS = ("skip-test", "slow-test", "exit-status", "excerpt-of")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*([\w+-]*)")
_MARKER = re.compile(r"^\s*<!--\s*([\w-]+):\s*(.*?)\s*-->\s*$")

TINY_RUNS: dict[str, list[str]] = {
    "runs/demo": [],
    "runs/pixels": ["env.obs_type=pixels", "model.encoder=cnn", "train.batch_size=8", "train.probe_steps=5"],
}
"""Run directories the docs may name, and their ``--set`` overrides on top of ``tests.conftest.TINY``."""


class BlockError(AssertionError):
    """A documented code block that does not run as shown."""


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    """1-based line of the opening fence."""
    lang: str
    code: str
    markers: dict[str, str] = field(default_factory=dict)
    """``<!-- key: value -->`` comments on the lines just before the fence."""

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(REPO) if self.path.is_relative_to(REPO) else self.path}:{self.line}"


def _markers(lines: list[str], fence: int) -> dict[str, str]:
    found: dict[str, str] = {}
    k = fence - 1
    while k >= 0 and (m := _MARKER.match(lines[k])):
        found[m.group(1)] = m.group(2)
        k -= 1
    return found


def parse_blocks(text: str, path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown text, with their language and markers."""
    lines, blocks, i = text.splitlines(), [], 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        close = re.compile(rf"^\s*{re.escape(m.group(1)[0])}{{{len(m.group(1))},}}\s*$")
        j = next((j for j in range(i + 1, len(lines)) if close.match(lines[j])), None)
        if j is None:
            raise BlockError(f"{path}:{i + 1}: code block never closed")
        code = "\n".join(lines[i + 1:j]) + "\n"
        blocks.append(Block(path, i + 1, m.group(2).lower(), code, _markers(lines, i)))
        i = j + 1
    return blocks


def all_blocks() -> list[Block]:
    return [b for path in DOC_FILES for b in parse_blocks(path.read_text(), path)]


# -- running one block ---------------------------------------------------------------------------

def _env() -> dict[str, str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl"),
           "MPLBACKEND": "Agg"}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])  # `wm` of this venv
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH", ""), str(REPO)) if p)
    return env


def _run(block: Block, cmd: list[str], cwd: Path, status: int = 0) -> str:
    """Run ``cmd``; its stdout and stderr, or a :class:`BlockError` if its exit status is not ``status``."""
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise BlockError(f"{block.name}: still running after {TIMEOUT_S} s: mark it "
                         f"<!-- skip-test: reason --> or make it cheaper") from None
    output = proc.stdout + proc.stderr
    if proc.returncode != status:
        raise BlockError(f"{block.name}: exit status {proc.returncode} (expected {status}) for\n{block.code}\n"
                         f"--- output (tail) ---\n{output[-3000:]}")
    return output


def run_python(block: Block, cwd: Path) -> str:
    script = cwd / f"_block_{block.path.stem}_{block.line}.py"
    script.write_text(block.code)
    return _run(block, [sys.executable, script.name], cwd)


def run_bash(block: Block, cwd: Path) -> str:
    return _run(block, ["bash", "-e", "-o", "pipefail", "-c", block.code], cwd)


def console_commands(code: str) -> list[tuple[str, list[str]]]:
    """``(command, expected output lines)`` of a console transcript."""
    session: list[tuple[str, list[str]]] = []
    for line in code.splitlines():
        if line.startswith("$ "):
            session.append((line[2:], []))
        elif session and line.strip():
            session[-1][1].append(line.strip())
        elif line.strip():
            raise BlockError(f"console block: output {line!r} before any `$ command`")
    return session


def run_console(block: Block, cwd: Path) -> str:
    status = int(block.markers.get("exit-status", "0"))
    session, outputs = console_commands(block.code), []
    if not session:
        raise BlockError(f"{block.name}: a console block without a `$ command` line")
    for command, expected in session:
        output = _run(block, ["bash", "-o", "pipefail", "-c", command], cwd, status)
        at = 0
        for line in expected:
            pattern = ".*?".join(re.escape(part) for part in line.split("..."))
            m = re.compile(pattern).search(output, at)
            if m is None:
                raise BlockError(f"{block.name}: `{command}` did not print {line!r}; it printed\n{output[-3000:]}")
            at = m.end()
        outputs.append(output)
    return "".join(outputs)


def is_excerpt(part: Any, whole: Any) -> bool:
    """True if every key of ``part`` (recursively) is in ``whole`` with the same value."""
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(k in whole and is_excerpt(v, whole[k]) for k, v in part.items())
    return part == whole


def run_yaml(block: Block, cwd: Path) -> str:
    from wm.config import load_config

    data = yaml.safe_load(block.code)
    if not isinstance(data, dict):
        raise BlockError(f"{block.name}: a yaml block that is not a mapping")
    source = block.markers.get("excerpt-of")
    if source is not None and not is_excerpt(data, yaml.safe_load((REPO / source).read_text())):
        raise BlockError(f"{block.name}: not an excerpt of {source} (a key or value differs)")
    path = cwd / f"_block_{block.path.stem}_{block.line}.yaml"
    path.write_text(block.code)
    here = Path.cwd()
    os.chdir(cwd)  # relative paths in a config are the working directory's
    try:
        load_config(path)
    except Exception as err:
        raise BlockError(f"{block.name}: not a valid config: {err}") from err
    finally:
        os.chdir(here)
    return f"{block.name}: a valid config\n"


RUNNERS = {"python": run_python, "bash": run_bash, "sh": run_bash, "console": run_console, "yaml": run_yaml}


def why_not_runnable(block: Block) -> str | None:
    """The reason a block can neither run nor be skipped, or None."""
    unknown = set(block.markers) - set(MARKER_KEYS)
    if unknown:
        return f"unknown marker {sorted(unknown)} (known: {', '.join(MARKER_KEYS)})"
    for key in ("skip-test", "slow-test"):
        if key in block.markers and len(block.markers[key]) < 10:
            return f"<!-- {key}: ... --> needs a reason"
    if "skip-test" in block.markers:
        return None
    if block.lang not in RUNNERS:
        what = f"a {block.lang} block" if block.lang else "an unlabelled block"
        return f"{what} has no runner: label it {', '.join(RUNNABLE)} or mark it <!-- skip-test: reason -->"
    if "exit-status" in block.markers and block.lang != "console":
        return "<!-- exit-status --> is for console blocks"
    source = block.markers.get("excerpt-of")
    if source is not None and (block.lang != "yaml" or not (REPO / source).is_file()):
        return f"<!-- excerpt-of: {source} --> needs a yaml block and a file of the repository"
    return None


def build_tiny_runs(code: str, cwd: Path) -> None:
    """Train the tiny runs ``code`` names that ``cwd`` does not hold yet (seconds each)."""
    from tests.conftest import TINY
    from wm import pipeline
    from wm.config import load_config

    for rel, overrides in TINY_RUNS.items():
        run = cwd / rel
        if rel in code and not (run / "checkpoints").exists():
            cfg = load_config(None, [*TINY, *overrides])
            pipeline.collect_data(cfg, run, progress=False)
            pipeline.train_model(cfg, run, progress=False)


def run_block(block: Block, cwd: Path) -> str:
    problem = why_not_runnable(block)
    if problem is not None:
        raise BlockError(f"{block.name}: {problem}")
    build_tiny_runs(block.code, cwd)
    return RUNNERS[block.lang](block, cwd)


# -- the shipped docs ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("docs")
    for name in ("configs", "examples"):
        (root / name).symlink_to(REPO / name, target_is_directory=True)
    return root


BLOCKS = all_blocks()


def test_every_block_runs_or_says_why_not():
    problems = [f"{b.name}: {p}" for b in BLOCKS if (p := why_not_runnable(b)) is not None]
    assert not problems, "\n".join(problems)
    assert any(b.lang == "python" and "wm.load_agent" in b.code for b in BLOCKS if b.path == README)


@pytest.mark.parametrize("block", [
    pytest.param(b, marks=pytest.mark.slow) if "slow-test" in b.markers else b for b in BLOCKS], ids=lambda b: b.name)
def test_doc_block(block: Block, workdir: Path):
    if "skip-test" in block.markers:
        pytest.skip(f"{block.name}: {block.markers['skip-test']}")
    print(run_block(block, workdir))


def readme_python_example() -> Block:
    section = README.read_text().split("## Python API", 1)[1].split("\n## ", 1)[0]
    return next(b for b in parse_blocks(section, README) if b.lang == "python")


def test_readme_python_example_is_five_lines_of_the_front_door():
    code = readme_python_example().code.strip().splitlines()
    assert len(code) == 5 and "wm.load_agent(" in code[1] and "wm.evaluate(" in code[-1]
    assert code[0] == "import wm"


def quick_start() -> list[str]:
    section = README.read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    (block,) = parse_blocks(section, README)
    return block.code.strip().splitlines()


def test_quick_start_is_what_ci_runs():
    """Two commands: install and run the embedded default; run the tests, as ``.ci/run`` does."""
    from wm.cli import build_parser

    install, tests = quick_start()
    steps = [s.strip() for s in install.split("&&")]
    assert steps[:2] == ["python3 -m venv .venv", ". .venv/bin/activate"]
    assert steps[-1] == "wm run" and build_parser().parse_args(["run"]).config is None  # the embedded default
    ci = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    for step in steps[2:-1]:
        assert step in ci, f".ci/run does not run the quick start's {step!r}"
    assert tests.startswith(".venv/bin/python ")
    assert ci[-1] == tests.removeprefix(".venv/bin/"), ".ci/run does not end on the README's test command"


# -- the runner can fail -------------------------------------------------------------------------

def _block(lang: str, code: str, **markers: str) -> Block:
    return Block(REPO / "docs" / "fake.md", 1, lang, code, markers)


@pytest.mark.parametrize(("block", "message"), [
    (_block("bash", "wm no-such-verb\n"), "exit status 2"),
    (_block("python", "import wm\nwm.load_agent('runs/nothing')\n"), "not a trained run"),
    (_block("console", "$ wm --help\nusage: wm ... nothing like this\n"), "did not print"),
    (_block("console", "$ wm train --out r --set train.stepz=1\nerror: unknown config key\n"), "exit status 2"),
    (_block("yaml", "env:\n  idd: wm/TwoRoom-v0\n"), "not a valid config"),
    (_block("yaml", "env:\n  id: wm/PushT-v0\n", **{"excerpt-of": "examples/polar_reach.yaml"}), "not an excerpt"),
    (_block("", "config.yaml   the resolved config\n"), "an unlabelled block has no runner"),
    (_block("text", "a listing\n", **{"skip-test": ""}), "needs a reason"),
    (_block("bash", "true\n", **{"skip-tets": "typo"}), "unknown marker"),
])
def test_a_block_that_does_not_run_fails(block: Block, message: str, tmp_path: Path):
    with pytest.raises(BlockError, match=re.escape(message)):
        run_block(block, tmp_path)


def test_parser_finds_blocks_languages_and_markers(tmp_path: Path):
    text = ("intro\n<!-- exit-status: 2 -->\n```console\n$ false\n```\n\n````markdown\n```python\nx\n```\n````\n"
            "<!-- skip-test: a listing, not code -->\n```\nrow\n```\n")
    blocks = parse_blocks(text, tmp_path / "x.md")
    assert [(b.line, b.lang, b.markers) for b in blocks] == [
        (3, "console", {"exit-status": "2"}), (7, "markdown", {}), (13, "", {"skip-test": "a listing, not code"})]
    assert blocks[1].code == "```python\nx\n```\n"
    assert console_commands("$ wm --help\nusage: wm ...\n\n$ true\n") == [("wm --help", ["usage: wm ..."]),
                                                                        ("true", [])]
    run_console(_block("console", "$ false\n", **{"exit-status": "1"}), tmp_path)
