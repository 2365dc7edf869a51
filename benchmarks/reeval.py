"""Do the shipped rows' latent evaluations reproduce at this commit?

A row of ``benchmarks/results/*.json`` was produced at the commit it records; the library has moved on
since. Where the row's run directory is still on this machine, this script re-runs ``wm eval`` of its
latent agent (``mpc``) from the row's own checkpoint and config, under each protocol the row reports, and
compares every episode (reset seed, success, final distance, steps) with the evaluation the row was made
from (``RUN/eval/**/results.json``, whose success rate must equal the row's). Identical episodes show that
the evaluation path (env, encoder, planner, success rule) gives the same answers at this commit; they say
nothing about training, which only a retraining reproduces.

``--set KEY=VALUE`` changes the re-run (e.g. ``plan.precision=bf16``): the comparison then measures what
that change does to the same models' success.

Usage: ``python -m benchmarks.reeval [NAME ...] [--set plan.precision=bf16] [--out FILE]``
(default: every row whose run directory exists; ``benchmarks/results/reeval.json``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import torch

from benchmarks.timing import machine_info, write_artifact
from wm.cli import main as wm_main
from wm.provenance import code_at_start

RESULTS = Path(__file__).resolve().parent / "results"
EPISODE_KEYS = ("seed", "success", "final_distance", "steps")
PROTOCOL_KEYS = {"task": "agents", "offset": "offset"}


def mpc_results(eval_dir: Path) -> dict[str, dict]:
    """``{protocol: results body}`` of the ``mpc`` evaluations under ``eval_dir`` (the first found per protocol)."""
    found: dict[str, dict] = {}
    for path in sorted(eval_dir.rglob("results.json")):
        body = json.loads(path.read_text())
        if body.get("agent") == "mpc" and body.get("protocol", "task") in PROTOCOL_KEYS:
            found.setdefault(body.get("protocol", "task"), body)
    return found


def compare(shipped: list[dict], now: list[dict]) -> dict[str, Any]:
    """Episode-by-episode comparison of two ``per_episode`` lists (matched by reset seed)."""
    by_seed = {e["seed"]: e for e in now}
    same = sum(1 for e in shipped if e["seed"] in by_seed
               and all(e[k] == by_seed[e["seed"]][k] for k in EPISODE_KEYS))
    return {"episodes": len(shipped), "identical": same,
            "success_shipped": sum(bool(e["success"]) for e in shipped),
            "success_now": sum(bool(e["success"]) for e in now)}


def rerun(row: dict[str, Any], protocol: str, sets: list[str], out: Path) -> dict:
    """``wm eval`` of the row's ``mpc`` under ``protocol`` into ``out``; its results body."""
    run = Path(row["run_dir"])
    args = ["eval", "--config", str(run / "config.yaml"), "--out", str(out), "--checkpoint", str(run / "checkpoints"),
            "--quiet", "--set", "eval.agents=[mpc]", "--set", "eval.offset_agents=[mpc]",
            "--set", f"eval.protocols=[{protocol}]"]
    for s in sets:
        args += ["--set", s]
    if wm_main(args) != 0:
        raise RuntimeError(f"{row['name']}: wm eval failed under the {protocol} protocol")
    return mpc_results(out / "eval")[protocol]


def check_row(row: dict[str, Any], sets: list[str]) -> list[dict[str, Any]]:
    """One record per protocol of ``row``: its commit, the comparison, or why it was skipped."""
    base = {"name": row["name"], "row_commit": row.get("git_commit", "")[:10]}
    run = Path(row.get("run_dir", ""))
    evals = mpc_results(run / "eval")
    if not (run / "checkpoints").is_dir() or not evals:
        return [{**base, "status": f"skipped: no run directory with evaluations at {row.get('run_dir')!r}"}]
    records = []
    for protocol, shipped in evals.items():
        reported = row.get(PROTOCOL_KEYS[protocol], {}).get("mpc", {}).get("success_rate")
        if reported is not None and abs(reported - shipped["success_rate"]) > 1e-9:
            why = f"skipped: {run / 'eval'} holds a {protocol} result that is not the row's evaluation"
            records.append({**base, "protocol": protocol, "status": why})
            continue
        with tempfile.TemporaryDirectory() as tmp:
            now = rerun(row, protocol, sets, Path(tmp))
        cmp = compare(shipped["per_episode"], now["per_episode"])
        status = "identical" if cmp["identical"] == cmp["episodes"] else "differs"
        records.append({**base, "protocol": protocol, **cmp, "status": status,
                        "plan_ms_median_shipped": shipped.get("plan_ms_median"),
                        "plan_ms_median_now": now.get("plan_ms_median")})
    return records


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="rows (results file names); default: all")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                    help="override for the re-run (repeatable)")
    ap.add_argument("--results-dir", type=Path, default=RESULTS)
    ap.add_argument("--out", type=Path, default=RESULTS / "reeval.json")
    args = ap.parse_args(argv)
    commit, dirty = code_at_start()  # the code this process runs, whatever the checkout becomes meanwhile
    names = args.names or row_names(args.results_dir)
    records = []
    for name in names:
        row = json.loads((args.results_dir / f"{name}.json").read_text())
        new = check_row(row, args.sets)
        records += new
        for r in new:
            print(f"{name:28s} {r.get('protocol', '-'):7s} {r['status']:9s} "
                  f"{r.get('identical', '-')}/{r.get('episodes', '-')} identical, "
                  f"success {r.get('success_shipped', '-')} -> {r.get('success_now', '-')}")
    machine = {**machine_info(), "git_commit": commit, "git_dirty": dirty}
    write_artifact({"machine": machine, "threads": torch.get_num_threads(), "overrides": args.sets,
                    "rows": records}, args.out)
    print(f"wrote {args.out}")


def row_names(results_dir: Path) -> list[str]:
    """The bench rows among ``results_dir``'s results files (those that name their run directory), sorted."""
    return sorted(p.stem for p in results_dir.glob("*.json") if _is_row(p))


def _is_row(path: Path) -> bool:
    """Whether a results file is a bench row (it names its run directory)."""
    try:
        return "run_dir" in json.loads(path.read_text())
    except (OSError, ValueError):
        return False


if __name__ == "__main__":
    main()
