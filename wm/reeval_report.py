"""Markdown of ``python -m benchmarks.reeval``'s and ``python -m benchmarks.retrain``'s files for BENCHMARKS.md.

``reeval.json``: the rows' latent evaluations re-run at a later commit, episode by episode against the
row's own; ``retrain.json``: the start of the rows' training re-run, scalar by scalar against the row's
TensorBoard log; ``reeval_bf16.json`` (the evaluation re-run with ``plan.precision=bf16``): what planning
in bfloat16 does to those models' success and plan time.  Nothing is typed by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wm.speed_report import load_json

FP32, BF16, RETRAIN = "reeval.json", "reeval_bf16.json", "retrain.json"


def _compared(res: dict) -> dict[tuple[str, str], dict[str, Any]]:
    """``{(row, protocol): record}`` of the records that ran (skipped ones have no protocol or episodes)."""
    return {(r["name"], r["protocol"]): r for r in res["rows"] if "episodes" in r}


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


def reproduction_markdown(res: dict) -> list[str]:
    """The re-run table: each row's protocol, its commit, identical episodes, success before and now."""
    m = res["machine"]
    lines = ["## Evaluations re-run at a later commit", "",
             f"The latent agent of each row whose run directory was on the machine, re-run from the row's "
             f"checkpoint and config at commit `{str(m.get('git_commit', '?'))[:10]}` ({m.get('cpu', '?')}, "
             f"{m.get('date', '?')}) and compared episode by episode (reset seed, success, final distance, "
             "steps) with the evaluation the row was made from. Identical episodes show that the evaluation "
             "path gives the same answers at that commit; training is reproduced only by rerunning the row.",
             "", "| row | protocol | row commit | identical episodes | mpc successes (row, re-run) |",
             "|---|---|---|---|---|"]
    for r in _compared(res).values():
        lines.append(f"| {r['name']} | {r['protocol']} | `{r['row_commit']}` | {r['identical']} / {r['episodes']} | "
                     f"{r['success_shipped']}, {r['success_now']} |")
    skipped = sorted({r["name"] for r in res["rows"] if "episodes" not in r})
    if skipped:
        lines += ["", "Not on the machine (skipped): " + ", ".join(skipped) + "."]
    return [*lines, "", "Command: `python -m benchmarks.reeval`", ""]


def bf16_markdown(fp32: dict, bf16: dict) -> list[str]:
    """The same models planned in float32 and bfloat16 (both re-runs): successes and median plan time."""
    a, b = _compared(fp32), _compared(bf16)
    threads = {res.get("threads") for res in (fp32, bf16)}
    on = f", each alone on {threads.pop()} thread(s)" if len(threads) == 1 and None not in threads else ""
    lines = ["## Planning in bfloat16 on the rows' models", "",
             "The re-run above again with `plan.precision: bf16` (`--set plan.precision=bf16`), on "
             f"{bf16['machine'].get('cpu', '?')} at commit `{str(bf16['machine'].get('git_commit', '?'))[:10]}`"
             f"{on}: the models' successes and median plan time in each precision.", "",
             "| row | protocol | successes fp32 | successes bf16 | plan ms fp32 | plan ms bf16 |",
             "|---|---|---|---|---|---|"]
    for key in sorted(a.keys() & b.keys()):
        x, y = a[key], b[key]
        lines.append(f"| {key[0]} | {key[1]} | {x['success_now']} / {x['episodes']} | {y['success_now']} / "
                     f"{y['episodes']} | {_ms(x.get('plan_ms_median_now'))} | {_ms(y.get('plan_ms_median_now'))} |")
    command = f"python -m benchmarks.reeval --set plan.precision=bf16 --out benchmarks/results/{BF16}"
    return [*lines, "", f"Command: `{command}`", ""]


def retrain_markdown(res: dict) -> list[str]:
    """The training re-run table: each row's commit, threads, steps and identical scalars."""
    m = res["machine"]
    lines = ["## Training re-run at a later commit", "",
             f"The first joint steps of each row whose run directory was on the machine, trained again from the "
             f"row's config and dataset at commit `{str(m.get('git_commit', '?'))[:10]}` ({m.get('cpu', '?')}, "
             f"{m.get('date', '?')}) on the row's thread count, with the row's whole learning-rate schedule, "
             "and compared scalar by scalar (losses, regulariser terms, learning rate, and the diagnostics where "
             "their step falls inside; not throughput) with the row's TensorBoard log. Identical scalars show "
             "that the training path computes the same run at that commit; the planner stage and predictor phase "
             "after the joint steps are not re-run.", "",
             "| row | row commit | threads | steps | identical scalars | largest difference |",
             "|---|---|---|---|---|---|"]
    for r in res["rows"]:
        if "scalars" not in r:
            continue
        threads = f"{r['threads']}"
        if not r.get("threads_recorded", True):
            matched = r["status"] == "identical"
            threads += " (not recorded: the count that matched)" if matched else " (not recorded: 2 and 1 tried)"
        lines.append(f"| {r['name']} | `{r['row_commit']}` | {threads} | {r['steps']} | {r['identical']} / "
                     f"{r['scalars']} | {r['max_abs_diff']:.3g} |")
    skipped = sorted(r["name"] for r in res["rows"] if "scalars" not in r)
    if skipped:
        lines += ["", "Not on the machine (skipped): " + ", ".join(skipped) + "."]
    return [*lines, "", "Command: `python -m benchmarks.retrain`", ""]


def reeval_markdown(results_dir: Path) -> str:
    """The sections from ``results_dir`` ("" without ``reeval.json``; the bf16 one needs both files; the
    training re-run needs ``retrain.json``)."""
    fp32 = load_json(Path(results_dir) / FP32)
    if fp32 is None:
        return ""
    lines = reproduction_markdown(fp32)
    bf16 = load_json(Path(results_dir) / BF16)
    if bf16 is not None:
        lines += bf16_markdown(fp32, bf16)
    retrain = load_json(Path(results_dir) / RETRAIN)
    if retrain is not None:
        lines += retrain_markdown(retrain)
    return "\n".join(lines)
