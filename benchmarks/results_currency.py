"""Are the bench rows current?  Each results file's commits against the checkout's library code.

A bench row (``benchmarks/results/<task>.json``) records the commit its ``wm bench`` process started at
(``git_commit``, and whether the library was dirty), and each training seed added later by
``wm bench --add-seeds`` its own. A commit is *current* when the library's code and configs
(``wm.provenance.LIBRARY_PATHS``) are the same there as at ``--rev`` (commits that touch only docs, tests
or benchmarks keep it current); otherwise the library files that changed since are listed, and the row
must be regenerated (``wm bench --only <task>``) before its numbers describe the code. A change to the
config files alone keeps a row current when the row's own config, resolved at ``HEAD`` from its bench
task file (``configs/bench/<task>.yaml``) as ``wm bench`` resolves it, equals the config the row recorded
and the task file's report fields (title, targets, peers) equal the row's: another task's recipe, or a
comment, does not change what this row ran. Code changes always count.

The benchmark artifacts that ``BENCHMARKS.md`` renders beside the rows (:data:`REPORTED`: plan speed,
scaling, the stable-worldmodel comparison, allocator and threads, the re-run evaluations and training)
are checked the same way, against the commit their benchmark recorded, a config change counting only for
the config files (and their ``base:`` chains) the artifact's benchmark reads (:func:`artifact_configs`).
The re-runs of the rows' own runs (:data:`ROW_BOUND`) read the configs saved in the run directories, and
are stale instead when a row they re-ran has been regenerated since (its commit is no longer the row's).
The other files there are diagnostics of particular runs, cited by the docs at the commit they record, and
are not checked.

Usage: ``python -m benchmarks.results_currency [--results DIR] [--rev HEAD]``; exits 1 when a row or a
reported artifact is stale, was made from a dirty tree, or names a commit this clone does not have.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.scaling import PIXELS, STATE
from wm.bench import BenchTask, config_drift, load_results, load_suite
from wm.config import BASE_KEY, ConfigError, load_config
from wm.provenance import LIBRARY_PATHS

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
REPORTED = ("plan_speed.json", "plan_speed_wide.json", "scaling.json", "swm_compare.json", "train_alloc.json",
            "threads_contention.json", "reeval.json", "reeval_bf16.json", "retrain.json")
"""The artifacts ``wm bench`` renders into ``BENCHMARKS.md`` (``wm/speed_report.py``, ``wm/runtime_report.py``,
``wm/reeval_report.py``)."""
ARTIFACT_CONFIGS = {"scaling.json": (PIXELS, STATE)}
"""The configs read by a benchmark whose artifact does not name its own (``config``, or ``model.config``)."""
ROW_BOUND = ("reeval.json", "reeval_bf16.json", "retrain.json")
"""Re-runs of the rows' own run directories (their saved configs), one entry per row (``name``, ``row_commit``)."""


def library_changes(commit: str, rev: str = "HEAD", repo: Path = ROOT) -> list[str] | None:
    """The library files that differ between ``commit`` and ``rev`` (``[]``: current; None: unknown commit)."""
    out = subprocess.run(["git", "diff", "--name-only", commit, rev, "--", *LIBRARY_PATHS], cwd=repo,
                         capture_output=True, text=True, timeout=60)
    return out.stdout.split() if out.returncode == 0 else None


def _load(path: Path) -> dict[str, Any]:
    """A results file's JSON body (SystemExit naming the file when it is not valid JSON)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise SystemExit(f"{path}: not a readable results file ({err})") from None


def row_commits(record: dict[str, Any]) -> list[dict[str, Any]]:
    """``[{seeds, commit, dirty}]``: the row's own commit with the seeds trained in its process, then each
    seed added later (``wm bench --add-seeds``, which records its own commit)."""
    runs = record.get("seed_runs") or [{"seed": 0}]
    shared = ",".join(str(r["seed"]) for r in runs if "git_commit" not in r)
    first = {"seeds": shared, "commit": record["git_commit"], "dirty": record.get("git_dirty")}
    return [first] + [{"seeds": str(r["seed"]), "commit": r["git_commit"], "dirty": r.get("git_dirty")}
                      for r in runs if "git_commit" in r]


def _entry(row: str, seeds: str, commit: str, dirty: bool | None, rev: str, repo: Path,
           dirty_flag_required: bool, record: dict[str, Any] | None = None,
           config_deps: set[str] | None = None) -> dict[str, Any]:
    """``{row, seeds, commit, dirty, changed, config, current}``: current when no library file that can
    affect it changed since ``commit`` and the tree was clean (``dirty`` False; None, not recorded, passes
    only where it is not required). With a bench row's ``record``, changed config files count only when
    the row's config differs (:func:`config_change`; ``config`` lists how, else ``[]``); with an artifact's
    ``config_deps`` (the config files it reads), only those count."""
    changed = library_changes(commit, rev, repo)
    config: list[str] = []
    if changed and record is not None and any(_is_config(f) for f in changed):
        config = config_change(record, rev, repo)
        if not config:
            changed = [f for f in changed if not _is_config(f)]
    if changed and config_deps is not None:
        changed = [f for f in changed if not _is_config(f) or f in config_deps]
    clean = dirty is False or (dirty is None and not dirty_flag_required)
    return {"row": row, "seeds": seeds, "commit": commit, "dirty": dirty, "changed": changed, "config": config,
            "current": changed == [] and clean}


def _is_config(path: str) -> bool:
    return path.startswith("configs/")


REPORT_FIELDS = ("title", "targets", "reference", "reference_protocol", "differs")
"""The bench task fields a row copies into its record and the report renders from there."""


def config_change(record: dict[str, Any], rev: str = "HEAD", repo: Path = ROOT) -> list[str]:
    """How a bench row's config today differs from the one it recorded, as ``section.key: was -> now`` lines
    (``[]``: the same; :func:`wm.bench.config_drift`), plus any report field of its task file that changed.

    Today's config is resolved from the checkout's ``configs/bench`` as ``wm bench`` resolves the row's
    first seed; the answer is only trusted for ``rev`` = ``HEAD`` with no uncommitted config change, and
    otherwise (or when the row has no task file, or its config does not load) is one line saying why, so that
    every changed config file counts."""
    if not _configs_are(rev, repo):
        return [f"configs at {rev} are not the checkout's: every config change counts"]
    try:
        task = _task(record["name"], repo)
        cfg = load_config(task.config, [*task.overrides, f"train.seed={task.seeds[0]}"])
    except (ConfigError, KeyError) as err:
        return [f"row config not resolvable ({err})"]
    fields = [f"{key}: {record.get(key)!r} -> {getattr(task, key)!r}" for key in REPORT_FIELDS
              if record.get(key, getattr(task, key)) != getattr(task, key)]
    return config_drift(record.get("config", {}), cfg) + fields


def _configs_are(rev: str, repo: Path) -> bool:
    """Whether ``rev`` is the checkout's commit and its config files are as committed."""
    same = subprocess.run(["git", "rev-parse", rev, "HEAD"], cwd=repo, capture_output=True, text=True, timeout=60)
    clean = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "configs"], cwd=repo, timeout=60)
    lines = same.stdout.split()
    return same.returncode == 0 and len(lines) == 2 and lines[0] == lines[1] and clean.returncode == 0


def _task(name: str, repo: Path) -> BenchTask:
    """The bench task file of row ``name`` in ``repo/configs/bench`` (ConfigError when there is none)."""
    return load_suite(repo / "configs" / "bench", only=[name])[0]


def _rows(results_dir: Path) -> list[dict[str, Any]]:
    """The bench rows as ``wm bench`` reports them (:func:`wm.bench.load_results`); an unreadable results
    file is named in one line (SystemExit)."""
    if not Path(results_dir).is_dir():
        raise SystemExit(f"{results_dir}: no such results folder")
    try:
        return load_results(results_dir)
    except ValueError:
        for path in sorted(Path(results_dir).glob("*.json")):
            _load(path)  # exits naming the first file that is not valid JSON
        raise


def check(results_dir: Path = RESULTS, rev: str = "HEAD", repo: Path = ROOT) -> list[dict[str, Any]]:
    """One entry per bench row and recorded commit (:func:`_entry`; a row must record its dirty flag)."""
    return [_entry(record["name"], c["seeds"], c["commit"], c["dirty"], rev, repo, True, record)
            for record in _rows(results_dir) for c in row_commits(record)]


def check_artifacts(results_dir: Path = RESULTS, rev: str = "HEAD", repo: Path = ROOT) -> list[dict[str, Any]]:
    """One entry per :data:`REPORTED` artifact present (:func:`_entry`, ``row`` the file name; the commit is
    at the top level or under ``machine``; a dirty flag the benchmark did not record does not count)."""
    entries = []
    rows = {r["name"]: r["git_commit"] for r in _rows(results_dir)}
    for name in REPORTED:
        path = Path(results_dir) / name
        if path.exists():
            body = _load(path)
            where = body if "git_commit" in body else body.get("machine", {})
            e = _entry(name, "-", where["git_commit"], where.get("git_dirty"), rev, repo, False,
                       config_deps=artifact_configs(name, body, repo))
            e["rows_regenerated"] = regenerated_rows(body, rows) if name in ROW_BOUND else []
            e["current"] = e["current"] and not e["rows_regenerated"]
            entries.append(e)
    return entries


def artifact_configs(name: str, body: dict[str, Any], repo: Path = ROOT) -> set[str] | None:
    """The config files (``base:`` chains included) an artifact's benchmark read; None where unknown (every
    config change then counts), ``set()`` for the re-runs of the rows' runs (:data:`ROW_BOUND`)."""
    if name in ROW_BOUND:
        return set()
    named = body.get("config") or body.get("model", {}).get("config")
    files = ARTIFACT_CONFIGS.get(name) or ((named,) if isinstance(named, str) else None)
    return None if files is None else set().union(*(config_chain(f, repo) for f in files))


def config_chain(path: str, repo: Path = ROOT) -> set[str]:
    """``path`` (relative to ``repo``) and the config files its ``base:`` keys lead to, as repo-relative paths."""
    import yaml

    root, chain = repo.resolve(), set()
    current: Path | None = (repo / path).resolve()
    while current is not None and current.is_file() and (name := current.relative_to(root).as_posix()) not in chain:
        chain.add(name)
        base = (yaml.safe_load(current.read_text()) or {}).get(BASE_KEY)
        current = (current.parent / base).resolve() if base else None
    return chain


def regenerated_rows(body: dict[str, Any], rows: dict[str, str]) -> list[str]:
    """The rows a re-run artifact covers whose results file now records another commit (regenerated since)."""
    return sorted({r["name"] for r in body.get("rows", []) if r.get("row_commit") and r["name"] in rows
                   and not rows[r["name"]].startswith(r["row_commit"])})


def _why(e: dict[str, Any]) -> str:
    """The table's last column: what keeps an entry from being current."""
    if e["changed"] is None:
        return "commit not in this clone"
    parts = [f"{len(e['changed'])} library files changed since: {', '.join(e['changed'][:4])}"
             + (" ..." if len(e["changed"]) > 4 else "")] if e["changed"] else []
    config = e.get("config") or []
    parts += [f"its config differs: {'; '.join(config[:3])}" + (" ..." if len(config) > 3 else "")] if config else []
    regenerated = e.get("rows_regenerated") or []
    parts += [f"re-ran rows regenerated since: {', '.join(regenerated)}"] if regenerated else []
    parts += ["made from a dirty tree"] if e["dirty"] else ["dirty flag not recorded"] if e["dirty"] is None else []
    return "; ".join(parts) or "-"


def _table(entries: list[dict[str, Any]], first: str) -> None:
    """Print ``entries`` as a markdown table whose first column is headed ``first``."""
    print(f"| {first} | seeds | commit | current | why not |\n|---|---|---|---|---|")
    for e in entries:
        print(f"| {e['row']} | {e['seeds']} | {e['commit'][:7]} | {'yes' if e['current'] else 'NO'} | {_why(e)} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, default=RESULTS, help="folder of bench results files")
    ap.add_argument("--rev", default="HEAD", help="the revision whose library the rows should match")
    args = ap.parse_args(argv)
    entries = check(args.results, args.rev)
    artifacts = check_artifacts(args.results, args.rev)
    _table(entries, "row")
    print()
    _table(artifacts, "reported artifact")
    everything = entries + artifacts
    stale = sorted({e["row"] for e in everything if not e["current"]})
    print(f"\n{sum(e['current'] for e in everything)} of {len(everything)} recorded commits current at {args.rev}"
          + (f"; regenerate: {', '.join(stale)}" if stale else ""))
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
