"""``wm bench``: run a declared suite of tasks and write reproducible result files.

A suite is a folder of YAML task files (``configs/bench/*.yaml``)::

    name: tworoom_state            # results file name
    title: TwoRoom, state          # row label
    config: ../tworoom_state.yaml  # experiment config, relative to the task file
    set: []                        # overrides of the full run
    quick: [train.steps=300, ...]  # extra overrides of ``--quick``
    targets: {mpc: 0.90}           # success targets (reported, never enforced)
    reference: {DINO-WM: 1.00}     # published numbers of the peers, for the table
    reference_protocol: offset     # the protocol those numbers were measured under
    seeds: [0, 1, 2]               # training seeds (train.seed); one run each, reported per seed
    differs: "simulator, ..."      # what still differs from the peers' setup, shown beside their numbers

Every row evaluates the control ladder (``oracle``, ``oracle-goal``, ``sim-latent`` where the
model is a state model, ``mpc``, ``random``) under the task protocol, and ``oracle-goal``,
``mpc``, ``random`` under the peers' ``offset`` protocol (``eval.protocols`` of its config).
Training seeds after the first train on the first seed's dataset (``train.seed`` does not
change the data) and evaluate only the agents that use the model (``mpc``, ``sim-latent``):
the simulator's agents and ``random`` do not depend on it.

Each task collects, trains and evaluates into ``<runs>/<name>`` and writes
``<results>/<name>.json``; :func:`write_reports` renders ``BENCHMARKS.md`` and the README
table from those files alone, so no number is typed by hand.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agents.factory import MODEL_AGENTS
from wm import pipeline
from wm.bench_report import benchmarks_md, summary_table, update_readme
from wm.config import ConfigError, config_hash, load_config, to_dict
from wm.provenance import code_record, versions
from wm.reeval_report import reeval_markdown
from wm.runtime_report import runtime_markdown
from wm.speed_report import speed_markdown
from worldmodel.checkpoint import atomic_write

SEED_KEYS = ("seed", "agents", "offset", "train_s", "train_threads", "probe_r2", "eff_rank")
TASK_KEYS = {"name", "title", "config", "set", "quick", "targets", "reference", "reference_protocol", "seeds",
             "differs"}


@dataclass(frozen=True)
class BenchTask:
    """One row of the benchmark suite (see the module docstring)."""

    name: str
    title: str
    config: Path
    overrides: tuple[str, ...] = ()
    quick: tuple[str, ...] = ()
    targets: dict[str, float] = field(default_factory=dict)
    reference: dict[str, float] = field(default_factory=dict)
    reference_protocol: str = "offset"
    seeds: tuple[int, ...] = (0,)
    differs: str = ""


def load_task(path: Path) -> BenchTask:
    """Parse and check one task file; errors name the file and key."""
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: unreadable bench task ({err})") from None
    if not isinstance(raw, dict) or "name" not in raw or "config" not in raw:
        raise ConfigError(f"{path}: a bench task needs 'name' and 'config'")
    unknown = set(raw) - TASK_KEYS
    if unknown:
        raise ConfigError(f"{path}: unknown bench key(s) {sorted(unknown)} (known: {sorted(TASK_KEYS)})")
    return BenchTask(name=str(raw["name"]), title=str(raw.get("title", raw["name"])),
                     config=(path.parent / raw["config"]).resolve(), overrides=tuple(raw.get("set") or ()),
                     quick=tuple(raw.get("quick") or ()), targets=dict(raw.get("targets") or {}),
                     reference=dict(raw.get("reference") or {}),
                     reference_protocol=str(raw.get("reference_protocol", "offset")),
                     seeds=tuple(int(x) for x in raw.get("seeds") or (0,)), differs=str(raw.get("differs", "")))


def load_suite(suite: Path, only: list[str] | None = None) -> list[BenchTask]:
    """All tasks of a suite folder (sorted by file name), optionally filtered by name."""
    tasks = [load_task(p) for p in sorted(Path(suite).glob("*.yaml"))]
    if not tasks:
        raise ConfigError(f"{suite}: no bench task files (*.yaml)")
    if only:
        missing = set(only) - {t.name for t in tasks}
        if missing:
            raise ConfigError(f"unknown bench task(s) {sorted(missing)} (known: {[t.name for t in tasks]})")
        tasks = [t for t in tasks if t.name in only]
    return tasks


def model_size(ckpt_dir: Path) -> dict[str, int]:
    """Parameter count and bytes of a checkpoint's weights."""
    import safetensors.torch

    from worldmodel.checkpoint import checkpoint_dir

    weights = checkpoint_dir(ckpt_dir) / "model.safetensors"
    tensors = safetensors.torch.load(weights.read_bytes())
    return {"params": int(sum(t.numel() for t in tensors.values())), "bytes": weights.stat().st_size}


def run_task(task: BenchTask, runs_dir: Path, quick: bool, progress: bool = True) -> dict[str, Any]:
    """Collect, train and evaluate one task once per training seed; return its result record.

    The record's top-level figures are those of the first seed; ``seed_runs`` holds every seed's.
    """
    start = time.perf_counter()
    seeds = task.seeds[:1] if quick else task.seeds
    first = _run_seed(task, runs_dir, quick, seeds[0], progress)
    runs = [first] + [_run_seed(task, runs_dir, quick, seed, progress, first) for seed in seeds[1:]]
    return {
        "name": task.name, "title": task.title, "quick": quick, "env_id": first["cfg"].env.id,
        "obs_type": first["cfg"].env.obs_type, "agents": first["agents"], "offset": first["offset"],
        "seed_runs": [{k: r[k] for k in SEED_KEYS} for r in runs],
        "targets": task.targets, "reference": task.reference, "reference_protocol": task.reference_protocol,
        "differs": task.differs, "collect_s": first["collect_s"], "train_s": first["train_s"],
        "train_threads": first["train_threads"], "train_steps": first["cfg"].train.steps,
        "probe_r2": first["probe_r2"], "eff_rank": first["eff_rank"],
        "model": model_size(first["run_dir"] / "checkpoints"),
        "wall_s": time.perf_counter() - start,
        "config": to_dict(first["cfg"]), "config_hash": config_hash(first["cfg"]),
        **code_record(), "versions": versions(), "date": time.strftime("%Y-%m-%d"),
        "run_dir": str(first["run_dir"]),
    }


def _later_seed_overrides(first: dict[str, Any]) -> list[str]:
    """A later seed's overrides: the first seed's dataset, and only the agents that use the model."""
    e = first["cfg"].eval
    model_agents = {p: [a for a in agents if a in MODEL_AGENTS] or ["mpc"]
                    for p, agents in (("agents", e.agents), ("offset_agents", e.offset_agents))}
    data = pipeline.dataset_path(first["cfg"], first["run_dir"]).resolve()  # the run may be read from elsewhere
    return [f"data.path={data}"] + [f"eval.{key}=[{','.join(agents)}]" for key, agents in model_agents.items()]


def _run_seed(task: BenchTask, runs_dir: Path, quick: bool, seed: int, progress: bool,
              first: dict[str, Any] | None = None) -> dict[str, Any]:
    """One training seed of a task: collect (the first seed only), train (``train.seed = seed``), evaluate
    every protocol (later seeds: on ``first``'s data, the model's agents only)."""
    overrides = list(task.overrides) + (list(task.quick) if quick else []) + [f"train.seed={seed}"]
    overrides += _later_seed_overrides(first) if first is not None else []
    cfg = load_config(task.config, overrides)
    suffix = ("" if first is None else f"-s{seed}") + ("-quick" if quick else "")
    run_dir = Path(runs_dir) / (task.name + suffix)
    if run_dir.exists():
        raise FileExistsError(f"{run_dir}: bench run directory exists (remove it or choose --runs)")
    start = time.perf_counter()
    if first is None:
        pipeline.collect_data(cfg, run_dir, progress=progress)
    collect_s = time.perf_counter() - start
    train = pipeline.train_model(cfg, run_dir, progress=progress)
    summaries = pipeline.evaluate_agents(cfg, run_dir, progress=progress)
    by_protocol = {p: {s["agent"]: _agent_record(s) for s in summaries if s.get("protocol", "task") == p}
                   for p in ("task", "offset")}
    return {"seed": seed, "cfg": cfg, "run_dir": run_dir, "agents": by_protocol["task"],
            "offset": by_protocol["offset"], "collect_s": collect_s, "train_s": train["wall_s"],
            "train_threads": train.get("threads"),
            "probe_r2": train.get("probe/r2_mean"), "eff_rank": train.get("collapse/eff_rank")}


def config_drift(recorded: dict[str, Any], cfg: Any) -> list[str]:
    """How today's ``cfg`` differs from a results file's ``recorded`` config, as ``section.key`` lines.

    A key the record lacks (added to the schema since) counts only when today's value is not its default.
    """
    from wm.config import from_dict

    now, default = to_dict(cfg), to_dict(from_dict({}))
    drift = []
    for section, values in now.items():
        if not isinstance(values, dict):
            continue
        for key, value in values.items():
            was = recorded.get(section, {}).get(key, default[section].get(key))
            if was != value and not (key == "path" and section == "data"):
                drift.append(f"{section}.{key}: {was!r} -> {value!r}")
    return drift


def add_seeds(task: BenchTask, results_dir: Path, runs_dir: Path, progress: bool = True,
              seeds: tuple[int, ...] | None = None) -> dict[str, Any]:
    """Train and evaluate the task's seeds missing from ``<results_dir>/<name>.json`` and add them to it.

    The first seed's row (its ladder) is kept; the new seeds train on the first seed's dataset
    (``<runs_dir>/<name>/data``, collected again from the same config where it is gone) and each
    records the commit it ran at. Refused when the task's config changed since the file was written.
    ``seeds`` picks some of the missing ones: processes adding different seeds may run side by side
    (each adds its own under a lock, re-reading the file).
    """
    path = Path(results_dir) / f"{task.name}.json"
    if not path.exists():
        raise ConfigError(f"{path}: no results to add seeds to (run `wm bench --only {task.name}` first)")
    record = json.loads(path.read_text())
    cfg = load_config(task.config, [*task.overrides, f"train.seed={task.seeds[0]}"])
    drift = config_drift(record["config"], cfg)
    if drift:
        raise ConfigError(f"{path}: its config differs from today's ({'; '.join(drift)}); rerun the row")
    done = {r["seed"] for r in record.get("seed_runs", [])}
    todo = [s for s in task.seeds if s not in done and (seeds is None or s in seeds)]
    run_dir = Path(runs_dir) / task.name
    if todo and not pipeline.dataset_path(cfg, run_dir).exists():
        pipeline.collect_data(cfg, run_dir, progress=progress)
    added = [{**{k: run[k] for k in SEED_KEYS}, **code_record()}
             for run in (_run_seed(task, runs_dir, False, s, progress, {"cfg": cfg, "run_dir": run_dir}) for s in todo)]
    with _locked(path):
        record = json.loads(path.read_text())
        have = {r["seed"] for r in record["seed_runs"]}
        runs = record["seed_runs"] + [r for r in added if r["seed"] not in have]
        record["seed_runs"] = sorted(runs, key=lambda r: r["seed"])
        atomic_write(path, json.dumps(record, indent=2, default=float).encode())
    return record


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``<path>.lock`` while the block runs (POSIX; elsewhere none)."""
    try:
        import fcntl
    except ImportError:  # not POSIX
        yield
        return
    with open(path.with_suffix(path.suffix + ".lock"), "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _agent_record(s: dict[str, Any]) -> dict[str, Any]:
    keys = ("success_rate", "success_ci95", "episodes", "final_distance_mean", "plan_ms_median",
            "plan_ms_p95", "act_ms_per_step", "steps_mean", "wall_s")
    return {k: s[k] for k in keys}


def run_suite(tasks: list[BenchTask], results_dir: Path, runs_dir: Path, quick: bool,
              progress: bool = True) -> list[dict[str, Any]]:
    """Run every task, writing ``<results_dir>/<name>.json`` as each one finishes."""
    results_dir.mkdir(parents=True, exist_ok=True)
    records = []
    for task in tasks:
        record = run_task(task, runs_dir, quick, progress)
        (results_dir / f"{task.name}.json").write_text(json.dumps(record, indent=2, default=float))
        records.append(record)
    return records


def load_results(results_dir: Path) -> list[dict[str, Any]]:
    """Every task result record in ``results_dir`` (sorted by name; other json files are skipped)."""
    records = [json.loads(p.read_text()) for p in sorted(Path(results_dir).glob("*.json"))]
    return [r for r in records if isinstance(r, dict) and {"name", "agents"} <= r.keys()]


def pending_tasks(tasks: list[BenchTask], records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Placeholder records (``pending: True``) for the suite's tasks that have no results file yet."""
    done = {r["name"] for r in records}
    return [{"name": t.name, "title": t.title, "pending": True, "targets": t.targets, "reference": t.reference,
             "reference_protocol": t.reference_protocol, "differs": t.differs} for t in tasks if t.name not in done]


def with_task_info(records: list[dict[str, Any]], tasks: list[BenchTask]) -> list[dict[str, Any]]:
    """Records with the suite's current title, targets, peers and their protocol (the task files own
    those, so a results file from an older run is reported beside today's peer numbers and rules)."""
    info = {t.name: {"title": t.title, "targets": t.targets, "reference": t.reference,
                     "reference_protocol": t.reference_protocol, "differs": t.differs} for t in tasks}
    return [{**r, **info.get(r["name"], {})} for r in records]


def benchmarks_page(records: list[dict[str, Any]], results_dir: Path) -> str:
    """The whole BENCHMARKS.md: the rows' sections, then the speed, process-default and re-run sections of
    ``results_dir``'s other results files (those present)."""
    sections = [benchmarks_md(records), speed_markdown(results_dir), runtime_markdown(results_dir),
                reeval_markdown(results_dir)]
    return "\n".join(x for x in sections if x)


def bench_suite(suite: Path, only: list[str], quick: bool, results: Path, runs: Path,
                report_only: bool = False, progress: bool = True, extra_seeds: bool = False,
                seeds: tuple[int, ...] | None = None) -> str:
    """``wm bench``: run the suite (unless ``report_only``) and regenerate the reports.

    Full runs write ``results/*.json``, ``BENCHMARKS.md`` (with the speed and scaling
    results of ``benchmarks/plan_speed.py`` / ``scaling.py`` when present) and the README table; quick runs
    write ``results/quick/*.json`` and ``results/quick/BENCHMARKS.md`` only. ``extra_seeds`` runs only
    the training seeds missing from existing results files (:func:`add_seeds`; ``seeds``: only those), then
    the reports.
    """
    results_dir = results / "quick" if quick else results
    if extra_seeds:
        if quick or report_only:
            raise ConfigError("--add-seeds adds training seeds to full results; not with --quick or --report-only")
        for task in load_suite(suite, only):
            add_seeds(task, results_dir, runs, progress, seeds)
    elif not report_only:
        run_suite(load_suite(suite, only), results_dir, runs, quick, progress)
    records = load_results(results_dir)
    if not records:
        raise ConfigError(f"{results_dir}: no results files to report")
    if not quick:
        tasks = load_suite(suite)
        records = with_task_info(records, tasks) + pending_tasks(tasks, records)
    if quick:
        (results_dir / "BENCHMARKS.md").write_text(benchmarks_md(records))
        return summary_table(records)
    Path("BENCHMARKS.md").write_text(benchmarks_page(records, results_dir))
    update_readme(Path("README.md"), records)
    return summary_table(records)
