"""Render benchmark result files into BENCHMARKS.md and the README tables (never typed by hand).

Two tables, one per protocol.  ``task``: the control ladder (``mpc``, ``sim-latent``,
``oracle-goal``, ``oracle``) beside ``random``.  ``offset`` (the peers'): ``mpc``, ``sim-latent``,
``oracle-goal``, ``random`` and the peers' numbers, which appear only there and only when the
task file says they were measured under that protocol.  A row whose ``mpc`` interval overlaps
``random``'s is marked as not distinguishable from random.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"
TASK_LADDER = ("mpc", "sim-latent", "oracle-goal", "oracle", "random")
OFFSET_LADDER = ("mpc", "sim-latent", "oracle-goal", "random")


def _rate(agents: dict[str, Any], agent: str) -> str:
    a = agents.get(agent)
    if a is None:
        return "-"
    lo, hi = a["success_ci95"]
    return f"{a['success_rate']:.2f} [{lo:.2f}, {hi:.2f}]"


def versus_random(agents: dict[str, Any]) -> str:
    """``above random`` / ``≈ random`` (the 95 % intervals of mpc and random overlap) / ``-``."""
    mpc, rnd = agents.get("mpc"), agents.get("random")
    if mpc is None or rnd is None:
        return "-"
    return "≈ random" if mpc["success_ci95"][0] <= rnd["success_ci95"][1] else "above random"


RUNGS = (("oracle", ""), ("oracle-goal", "goal specification"), ("sim-latent", "latent geometry"),
         ("mpc", "predictor"))


def ladder_reading(agents: dict[str, Any], top: str = "oracle") -> str:
    """Where ``mpc`` loses success against the ``top`` rung, by the rung that drops most.

    The rungs are oracle -> oracle-goal (``goal specification``) -> sim-latent (``latent geometry``)
    -> mpc (``predictor``; ``latent + predictor`` without sim-latent).  A rung that scores below a
    later one bounds nothing after it (e.g. a straight state-space cost that a learned latent beats
    in a maze), so it is merged into the next step, whose name joins both.  ``-`` when mpc matches
    the top rung or the ladder is missing.  ``top="oracle-goal"`` reads a ladder without the
    privileged oracle (the offset protocol's).
    """
    rate = {k: v["success_rate"] for k, v in agents.items()}
    if top not in rate or "mpc" not in rate or rate["mpc"] >= rate[top]:
        return "-"
    start = [a for a, _ in RUNGS].index(top)
    rungs = [(a, n) for a, n in RUNGS[start:] if a in rate]
    if "sim-latent" not in rate:
        rungs = [(a, "latent + predictor" if a == "mpc" else n) for a, n in rungs]
    if top == "oracle" and "oracle-goal" not in rate:  # the first step then includes the goal's loss
        rungs[1] = (rungs[1][0], f"goal specification + {rungs[1][1]}")
    kept: list[tuple[str, list[str]]] = []
    pending: list[str] = []
    for agent, name in reversed(rungs):  # keep a rung only if it bounds the next kept one
        if kept and agent != top and rate[agent] < rate[kept[-1][0]]:
            pending.insert(0, name)
            continue
        if kept:
            kept[-1][1][:0] = pending
        pending = []
        kept.append((agent, [name]))
    kept.reverse()
    steps = [(rate[hi] - rate[lo], " + ".join(names), hi, lo)
             for (hi, _), (lo, names) in itertools.pairwise(kept)]
    loss, name, hi, lo = max(steps)
    return f"{name} ({hi} -> {lo})" if loss > 0 else "-"


def _seed_rates(rec: dict[str, Any], key: str) -> list[float]:
    """mpc's success of each training seed under protocol ``key`` (``agents``: task, ``offset``)."""
    return [r[key]["mpc"]["success_rate"] for r in rec.get("seed_runs", []) if "mpc" in r.get(key, {})]


def _seeds(rec: dict[str, Any], key: str) -> str:
    """Mean and range of mpc's success over training seeds (``-`` with one seed)."""
    rates = _seed_rates(rec, key)
    if len(rates) < 2:
        return "-"
    return f"{sum(rates) / len(rates):.2f} ({min(rates):.2f}-{max(rates):.2f}, {len(rates)} seeds)"


def _commit(rec: dict[str, Any]) -> str:
    return rec["git_commit"][:7] + ("+dirty" if rec.get("git_dirty") else "")


def _peers(rec: dict[str, Any], protocol: str) -> str:
    if rec.get("reference_protocol", "offset") != protocol:
        return "-"
    return ", ".join(f"{k} {v:.2f}" for k, v in rec.get("reference", {}).items()) or "-"


def _target(rec: dict[str, Any], agents: dict[str, Any]) -> str:
    """The mpc target and whether it is met: by the mean over training seeds where there are several."""
    t = rec.get("targets", {}).get("mpc")
    if t is None:
        return "-"
    if "mpc" not in agents:
        return f">= {t:.2f}"
    rates = _seed_rates(rec, "offset") if len(_seed_rates(rec, "offset")) > 1 else [agents["mpc"]["success_rate"]]
    mean = sum(rates) / len(rates)
    return f">= {t:.2f} {'met' if mean >= t else 'NOT met'}{' (seed mean)' if len(rates) > 1 else ''}"


def task_table(records: list[dict[str, Any]]) -> str:
    """The ``task``-protocol table: the ladder, random, the honesty flag, costs and provenance."""
    lines = ["| task | mpc | sim-latent | oracle-goal | oracle | random | mpc vs random | mpc over seeds | "
             "largest loss | train s | plan ms/step | params | episodes | commit |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        if r.get("pending"):
            lines.append(f"| {r['title']} | not run yet | - | - | - | - | - | - | - | - | - | - | - | - |")
            continue
        a = r["agents"]
        rates = " | ".join(_rate(a, k) for k in TASK_LADDER)
        lines.append(f"| {r['title']}{' (quick)' if r.get('quick') else ''} | {rates} | {versus_random(a)} | "
                     f"{_seeds(r, 'agents')} | {ladder_reading(a)} | {r['train_s']:.0f} | "
                     f"{a.get('mpc', {}).get('act_ms_per_step', float('nan')):.1f} | {r['model']['params']:,} | "
                     f"{a.get('mpc', {}).get('episodes', '-')} | {_commit(r)} |")
    return "\n".join(lines)


def offset_table(records: list[dict[str, Any]]) -> str:
    """The ``offset``-protocol table: mpc, sim-latent, oracle-goal, random, where the ladder loses, the
    peers measured the same way."""
    lines = ["| task | mpc | sim-latent | oracle-goal | random | mpc vs random | mpc over seeds | largest loss | "
             "target (mpc) | peers | commit |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        off = r.get("offset") or {}
        if r.get("pending") or not off:
            lines.append(f"| {r['title']} | not run yet | - | - | - | - | - | - | {_target(r, {})} | "
                         f"{_peers(r, 'offset')} | {_commit(r) if not r.get('pending') else '-'} |")
            continue
        rates = " | ".join(_rate(off, k) for k in OFFSET_LADDER)
        lines.append(f"| {r['title']}{' (quick)' if r.get('quick') else ''} | {rates} | {versus_random(off)} | "
                     f"{_seeds(r, 'offset')} | {ladder_reading(off, top='oracle-goal')} | {_target(r, off)} | "
                     f"{_peers(r, 'offset')} | {_commit(r)} |")
    return "\n".join(lines)


def summary_table(records: list[dict[str, Any]]) -> str:
    """Both tables, each under a one-line heading."""
    return ("**Task protocol** (ours: the env samples start and goal; the control ladder)\n\n"
            f"{task_table(records)}\n\n"
            "**Offset protocol** (the peers': start on a held-out trajectory of the data policy, goal = the "
            "state 25 steps later, 50 steps, the peers' success rule)\n\n"
            f"{offset_table(records)}")


LEGEND = [
    "Success is the fraction of evaluation episodes reaching the goal, with its 95 % Wilson interval.",
    "The control ladder shares the planner, budget, episodes and seeds: `oracle` plans on the true simulator",
    "with the task's privileged distance (the planner's ceiling); `oracle-goal` plans on the true simulator",
    "towards the goal observation's state (is the goal as handed to the agent reachable?); `sim-latent`",
    "plans on the true simulator with the learned encoder's latent distance (is the latent geometry right?",
    "run on the state rows; a pixel model renders every candidate state, too slow for these budgets); `mpc`",
    "plans with the learned predictor too. The gap between two adjacent",
    "rungs is the loss of the piece that changes; \"largest loss\" names the rung that loses the most",
    "(under the offset protocol, which has no privileged distance, from `oracle-goal` down).",
    "\"≈ random\" marks a row whose mpc interval overlaps",
    "random's. Plan ms/step is mpc's planning time amortised over env steps; train s is the wall time of",
    "`wm train`. Times are wall-clock on the 2-core CPU that ran each task, which may have been shared",
    "with other jobs: read them as upper bounds. `commit` is the code the row was produced at.",
]


def _phase(r: dict[str, Any]) -> str:
    """`` + N predictor-phase steps`` when the row's config ran that phase, else nothing."""
    n = r.get("config", {}).get("train", {}).get("predictor_steps", 0)
    return f" + {n} predictor-phase steps" if n else ""


def _threads(r: dict[str, Any]) -> str:
    """`` on N CPU thread(s)`` where the record has the training's thread count (older ones do not)."""
    n = r.get("train_threads")
    return f" on {n} CPU thread{'s' if n != 1 else ''}" if n else ""


def _task_section(r: dict[str, Any]) -> list[str]:
    if r.get("pending"):
        return [f"## {r['title']}", "", f"- not run yet: `wm bench --only {r['name']}`", ""]
    out = [f"## {r['title']}", "",
           f"- env `{r['env_id']}` ({r['obs_type']}), config hash `{r['config_hash']}`, "
           f"git `{r['git_commit'][:12]}`{' (dirty tree)' if r.get('git_dirty') else ''}, {r['date']}",
           f"- collect {r['collect_s']:.0f} s, train {r['train_s']:.0f} s{_threads(r)} "
           f"({r['train_steps']} steps{_phase(r)}), "
           f"probe R^2 {r['probe_r2']:.3f}, effective rank {r['eff_rank']:.1f}, "
           f"model {r['model']['params']:,} parameters",
           f"- versions: {', '.join(f'{k} {v}' for k, v in r['versions'].items())}"]
    for run in r.get("seed_runs", [])[1:] if len(r.get("seed_runs", [])) > 1 else []:
        at = run.get("git_commit", r["git_commit"])
        dirty = ", dirty tree" if run.get("git_dirty") else ""
        where = "" if at == r["git_commit"] else f" (added at git `{at[:12]}`{dirty})"
        out.append(f"- seed {run['seed']}: task mpc {_rate(run['agents'], 'mpc')}, "
                   f"offset mpc {_rate(run.get('offset') or {}, 'mpc')}{where}")
    if r.get("reference"):
        out.append(f"- peers ({r.get('reference_protocol', 'offset')} protocol): "
                   f"{_peers(r, r.get('reference_protocol', 'offset'))}"
                   + (f"; still differs: {r['differs']}" if r.get("differs") else ""))
    out += [f"- reproduce: `wm bench --only {r['name']}{' --quick' if r.get('quick') else ''}`", ""]
    return out


def benchmarks_md(records: list[dict[str, Any]]) -> str:
    """The whole BENCHMARKS.md text."""
    out = ["# Benchmarks", "", "Generated by `wm bench` from `benchmarks/results/*.json`; do not edit by hand.", "",
           *LEGEND, "", summary_table(records), ""]
    for r in records:
        out += _task_section(r)
    return "\n".join(out)


def update_readme(readme: Path, records: list[dict[str, Any]]) -> bool:
    """Replace the table between the bench markers of ``readme``; False if it has no markers."""
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        return False
    block = f"{README_START}\n{summary_table(records)}\n{README_END}"
    text = re.sub(re.escape(README_START) + ".*?" + re.escape(README_END), lambda _: block, text, flags=re.S)
    readme.write_text(text)
    return True
