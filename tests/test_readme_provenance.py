"""README.md and BENCHMARKS.md report no measured figure without an artifact behind it.

* README.md (and any ``docs/*.md``): outside the block that ``wm bench`` generates between the
  bench markers, no result-like number (a decimal, a speed-up ``1.4x``, a time ``243 ms``, a rate
  ``190 samples/s``, a percentage, a success count ``7/50``, ``dB``, ``MiB``, ``29 -> 52``) may
  appear unless it is one of the few configuration constants of :data:`ALLOWED`, each of which
  must be found in the source file named beside it.  Inside the bench block, and everywhere in
  BENCHMARKS.md (which ``wm bench`` generates whole), every decimal and every number in a table
  row must be a value of some ``benchmarks/results/*.json`` file, formatted the way the report
  generators format it.
* README.md and ``docs/*.md`` link only to files inside the repository (the README with no ``../``),
  every relative link target (and every backticked repository file path) exists, every ``#anchor``
  names a heading of its page, nothing names ``shared/`` or ``/work/``, and the README links every
  ``docs/`` page.

Deterministic and fast: text and JSON only, no training.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from wm.bench_report import README_END, README_START

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
BENCHMARKS = REPO / "BENCHMARKS.md"
RESULTS = REPO / "benchmarks" / "results"

# Configuration constants (not results) that the prose may quote, each with the file that
# defines it; test_allowed_constants_are_defined_where_said checks that it is there.
ALLOWED: dict[str, str] = {
    "95%": "agents/stats.py",            # confidence level of the Wilson interval
    "0.05": "envs/reacher.py",           # offset rule, rad per joint (also TwoRoom's agent radius)
    "0.04": "envs/pusht.py",             # Push-T success_pos, metres
    "0.5": "envs/pointmaze.py",          # PointMaze offset rule (also Push-T's 0.5 m/s, contact 0.5 deg)
    "0.138": "envs/tworoom.py",          # TwoRoom offset radius, metres
    "4.5/65": "envs/tworoom.py",         # the same, as a fraction of the arena
    "4.5": "envs/tworoom.py",            # drawn agent disc, px
    "0.1": "envs/tworoom.py",            # TwoRoom success radius (also Push-T's 0.1 m per radian)
    "0.45": "envs/pointmaze.py",         # PointMaze success radius
    "0.02": "envs/reacher.py",           # Reacher success radius
    "2.3": "envs/tworoom.py",            # camera view, metres
    "0.08": "envs/tworoom.py",           # drawn agent disc radius
    "0.234": "envs/pusht.py",            # T bar length
    "0.176": "envs/pusht.py",            # T stem length
    "0.029": "envs/pusht.py",            # pusher radius
    "1/512": "envs/pusht.py",            # metres per px of the peers' workspace
    "1MiB": "envs/dataset.py",           # HDF5 chunk size
}

_NUM = r"(?<![\w.^/])\d+(?:\.\d+)?"
RESULT_PATTERNS: dict[str, re.Pattern[str]] = {
    "decimal": re.compile(r"(?<![\w.^/])\d*\.\d+"),
    "fraction": re.compile(_NUM + r"/\d+(?![\w/])"),
    "percent": re.compile(_NUM + r"\s?%"),
    "speed-up": re.compile(_NUM + r"\s?x\b(?!\s*\d)"),
    "time": re.compile(_NUM + r"\s?(?:ms|s|sec|seconds?|min|minutes?|h|hours?)\b"),
    "rate": re.compile(_NUM + r"\s?(?:samples|frames|steps|episodes|it|plans)/s\b"),
    "memory": re.compile(_NUM + r"\s?(?:[KMGT]i?B|kB)\b"),
    "decibel": re.compile(_NUM + r"\s?dB\b"),
    "change": re.compile(_NUM + r"\s?->\s?\d+"),
}
# table columns whose bare numbers are configuration (the environments table's episode limit)
CONFIG_COLUMNS = {"max steps"}
_BARE_CELL = re.compile(r"^[\d,.]+$")
# version pins and versions are not results: torch==2.13.0, Python >= 3.10, mujoco 4.0.0
_VERSIONS = re.compile(r"(?i:python|torch)\s*(?:==|>=|<=|~=)\s*\d+(?:\.\d+)*|\b\d+\.\d+\.\d+[\w+]*")


def _norm(s: str) -> str:
    return re.sub(r"\s+", "", s)


def unbacked_numbers(text: str) -> list[tuple[int, str, str]]:
    """``(line, kind, match)`` of every result-like number of ``text`` not in :data:`ALLOWED`.

    The generated bench block (between the markers) is skipped; its numbers are checked
    against the results files by :func:`numbers_missing_from_results` instead.
    """
    found = []
    in_block = False
    header: list[str] | None = None
    for no, line in enumerate(text.splitlines(), 1):
        if README_START in line:
            in_block = True
        if in_block:
            in_block = README_END not in line
            continue
        if line.lstrip().startswith("|"):  # a table row: bare numbers in cells are results too
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if header is None:
                header = cells
            elif not all(set(c) <= set("-: ") for c in cells):
                for i, cell in enumerate(cells):
                    column = header[i] if i < len(header) else ""
                    if _BARE_CELL.match(cell) and column not in CONFIG_COLUMNS:
                        found.append((no, "table cell", cell))
        else:
            header = None
        line = _VERSIONS.sub(" ", line)
        for kind, pat in RESULT_PATTERNS.items():
            for m in pat.finditer(line):
                if _norm(m.group()) not in ALLOWED:
                    found.append((no, kind, m.group()))
    return found


def bench_block(text: str) -> str:
    start, end = text.index(README_START), text.index(README_END)
    return text[start + len(README_START):end]


def _numbers(obj):
    if isinstance(obj, bool):
        return
    if isinstance(obj, (int, float)):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _numbers(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _numbers(v)


def _derived(record: dict) -> list[float]:
    """Figures the reports compute rather than copy: mpc's mean success over training seeds."""
    out = []
    for key in ("agents", "offset"):
        rates = [r[key]["mpc"]["success_rate"] for r in record.get("seed_runs", [])
                 if "mpc" in (r.get(key) or {})]
        if rates:
            out.append(sum(rates) / len(rates))
    return out


def formatted_result_values(results_dir: Path = RESULTS) -> set[str]:
    """Every number of every ``*.json`` under ``results_dir``, in the generators' formats."""
    values: set[str] = set()
    for path in sorted(results_dir.rglob("*.json")):
        record = json.loads(path.read_text())
        extra = _derived(record) if isinstance(record, dict) else []
        for x in [*_numbers(record), *extra]:
            if isinstance(x, float) and not math.isfinite(x):
                continue
            values.add(str(x))
            for fmt in ("{:.0f}", "{:.1f}", "{:.2f}", "{:.3f}", "{:.3g}", "{:,.0f}"):
                values.add(fmt.format(x))
    return values


_DATES = re.compile(r"\d{4}-\d{2}-\d{2}(?:T[\d:.]+(?:[+-]\d{2}:\d{2}|Z)?)?")
_HASHES = re.compile(r"(?<![\w.,])[0-9a-f]{7,40}(?![\w.,])")
_DECIMAL = re.compile(r"(?<![\w.])\d+\.\d+(?![\w.])")
_ANY_NUMBER = re.compile(r"(?<![\w.,])\d{1,3}(?:,\d{3})+(?![\w,])|(?<![\w.,])\d+(?:\.\d+)?(?![\w.,])")


def numbers_missing_from_results(text: str, values: set[str]) -> list[tuple[int, str]]:
    """``(line, number)`` of generated text whose decimals, or numbers in table rows, no results file holds."""
    missing = []
    for no, line in enumerate(text.splitlines(), 1):
        line = _HASHES.sub(" ", _DATES.sub(" ", _VERSIONS.sub(" ", line)))
        pattern = _ANY_NUMBER if line.lstrip().startswith("|") else _DECIMAL
        missing += [(no, m.group()) for m in pattern.finditer(line) if m.group() not in values]
    return missing


@pytest.fixture(scope="module")
def result_values() -> set[str]:
    return formatted_result_values()


# -- the checks on the shipped files -------------------------------------------------------------

def _prose_files() -> list[Path]:
    return [README, *sorted((REPO / "docs").glob("**/*.md"))]


@pytest.mark.parametrize("path", _prose_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_result_number_without_artifact(path):
    found = unbacked_numbers(path.read_text())
    assert not found, (f"{path.name}: result-like numbers with no artifact behind them (generate them with "
                       f"`wm bench` or remove them; constants go in ALLOWED with their source): {found}")


def test_readme_bench_block_numbers_come_from_results(result_values):
    text = README.read_text()
    assert text.count(README_START) == 1 and text.count(README_END) == 1
    assert not numbers_missing_from_results(bench_block(text), result_values)


def test_benchmarks_md_numbers_come_from_results(result_values):
    missing = numbers_missing_from_results(BENCHMARKS.read_text(), result_values)
    assert not missing, f"BENCHMARKS.md: numbers not in benchmarks/results/*.json: {missing}"


def test_allowed_constants_are_defined_where_said():
    for value, source in ALLOWED.items():
        assert value in _norm((REPO / source).read_text()), f"{value!r} is not in {source}"


_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REF_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", re.M)
_HTML_LINK = re.compile(r"""(?:href|src)\s*=\s*["']([^"']+)["']""")
_CODE_PATH = re.compile(r"`((?:agents|benchmarks|configs|docs|envs|examples|tests|wm|worldmodel)/[\w./-]+\.\w+)")


def link_targets(text: str) -> list[str]:
    return [*_LINK.findall(text), *_REF_LINK.findall(text), *_HTML_LINK.findall(text)]


def _is_external(target: str) -> bool:
    return bool(re.match(r"[a-z][a-z0-9+.-]*:", target, re.I)) or target.startswith("#")


def heading_anchors(text: str) -> set[str]:
    """GitHub's anchors of a Markdown text's headings (lower case, punctuation dropped, spaces as ``-``)."""
    anchors: set[str] = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.sub(r"```.*?```", "", text, flags=re.S), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


def broken_links(path: Path, text: str | None = None) -> list[str]:
    """The relative links of ``path`` (of ``text``, written at ``path``) that leave the repository, name no
    file, or name no heading of a Markdown file."""
    text = path.read_text() if text is None else text
    problems = []
    for target in link_targets(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):
            continue
        file, _, anchor = target.partition("#")
        resolved = (path.parent / file).resolve()
        if not resolved.is_relative_to(REPO):
            problems.append(f"{target!r} leaves the repository")
        elif file and not resolved.exists():
            problems.append(f"{target!r}: no such file in the repository")
        elif anchor and (not file or resolved.suffix == ".md") and \
                anchor not in heading_anchors(resolved.read_text() if file else text):
            problems.append(f"{target!r}: {resolved.name if file else path.name} has no heading #{anchor}")
    return problems


@pytest.mark.parametrize("path", _prose_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_links_resolve_inside_the_repository(path):
    problems = broken_links(path)
    assert not problems, f"{path.relative_to(REPO)}: {problems}"
    text = path.read_text()
    assert "shared/" not in text and "/work/" not in text, f"{path.name} refers to a path outside the repository"
    if path == README:
        assert "../" not in text, "README.md refers to a path outside the repository (../)"


@pytest.mark.parametrize("path", _prose_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_code_paths_exist(path):
    for rel in _CODE_PATH.findall(path.read_text()):
        assert (REPO / rel.split(":")[0]).exists(), f"{path.name} names {rel!r}, which does not exist"


def test_readme_links_to_every_docs_page():
    pages = {p.relative_to(REPO).as_posix() for p in (REPO / "docs").glob("*.md")}
    linked = {t.partition("#")[0] for t in link_targets(README.read_text())}
    assert pages and pages <= linked, f"docs pages the README does not link: {sorted(pages - linked)}"


# -- the checkers can fail -----------------------------------------------------------------------

@pytest.mark.parametrize("fake", [
    "success 0.93", "about 1.4x faster", "a plan takes 243 ms", "190 samples/s", "it takes about 4 minutes",
    "Spearman 0.97", "solved 7/50 episodes", "12 % fewer steps", "PSNR 31.8 dB", "peak 706 MiB",
    "cem 29 -> 52 steps", "| agent | ms |\n|---|---|\n| mpc | 1.00 |", "6x the latent rollout",
    "| env | frames/s |\n|---|---|\n| TwoRoom | 441 |",
])
def test_checker_flags_a_result(fake):
    assert unbacked_numbers(f"intro\n{fake}\n"), fake


@pytest.mark.parametrize("ok", [
    "300 samples x 10 iterations, horizon 10", "64x64 pixels", "300 episodes, 3000 steps", "pip install torch==2.13.0",
    "Python >= 3.10", "a 95 % Wilson interval", "within 0.05 rad", "`--set eval.episodes=20`", "exp(-t^2/2)",
    "| id | max steps |\n|---|---|\n| `wm/TwoRoom-v0` | 200 |",
])
def test_checker_passes_configuration(ok):
    assert not unbacked_numbers(ok), ok


def test_fake_number_in_the_readme_is_flagged_but_not_in_the_bench_block():
    text = README.read_text()
    assert not unbacked_numbers(text)
    assert unbacked_numbers(text.replace("## Python API", "mpc success 0.93 on TwoRoom\n\n## Python API", 1))
    assert not unbacked_numbers(text.replace(README_END, "| extra | 0.93 |\n" + README_END, 1))


def test_fake_number_in_generated_text_is_flagged(result_values):
    text = BENCHMARKS.read_text().rstrip("\n") + "\n"
    fake = "0.93718"  # more decimals than any generated table prints
    assert fake not in result_values
    assert numbers_missing_from_results(text + f"mpc success {fake}\n", result_values) == [
        (len(text.splitlines()) + 1, fake)]
    assert numbers_missing_from_results("| fake row | 123457 |", result_values) == [(1, "123457")]
    assert not numbers_missing_from_results(bench_block(README.read_text()), result_values)


def test_readme_link_checker_can_fail(tmp_path):
    bad = "see [the notes](../shared/ARCHITECTURE.md) and [missing](docs/nope.md) and [web](https://x.org)"
    targets = [t for t in link_targets(bad) if not _is_external(t)]
    assert targets == ["../shared/ARCHITECTURE.md", "docs/nope.md"]
    assert not (REPO / "docs/nope.md").exists()
    page = REPO / "docs" / "fake.md"  # never written: the text is given
    fake = ("# Page\n## Its `wm run` section (state)\n[ok](#its-wm-run-section-state) [up](../README.md#quick-start)"
            " [gone](nope.md) [away](../../x.md) [anchor](cli.md#no-such-heading) [web](https://x.org) [me](#nope)\n")
    assert broken_links(page, fake) == [
        "'nope.md': no such file in the repository", "'../../x.md' leaves the repository",
        "'cli.md#no-such-heading': cli.md has no heading #no-such-heading", "'#nope': fake.md has no heading #nope"]
