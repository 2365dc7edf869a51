"""Tables of evaluation summaries (markdown and terminal)."""

from __future__ import annotations

from typing import Any


def _fmt(x: float | None, digits: int = 1) -> str:
    return "-" if x is None or x != x else f"{x:.{digits}f}"  # None / nan -> "-"


def _units(s: dict[str, Any]) -> str:
    """`` m`` etc.: the units of the final distance, when the results record them."""
    units = s.get("distance_units")
    return f" {units}" if units else ""


def _budget(s: dict[str, Any]) -> str:
    plan = s.get("plan")
    if not plan or s.get("planner") is None:
        return "-"
    refine = f"+{plan['refine_steps']}" if s.get("planner") == "cem_gd" else ""
    return f"{plan['samples']}x{plan['iterations']}{refine}"


def results_table(summaries: list[dict[str, Any]]) -> str:
    """A markdown table: agent, planner, budget, success [95 % CI], final distance, plan ms, ms/step, steps."""
    lines = ["| agent | planner | budget | success | 95% CI | final dist | plan ms (median) | plan ms (p95) "
             "| ms/step | steps |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for s in summaries:
        lo, hi = s["success_ci95"]
        wins = round(s["success_rate"] * s["episodes"])
        lines.append(f"| {s['agent']} | {s.get('planner') or '-'} | {_budget(s)} | {s['success_rate']:.2f} "
                     f"({wins}/{s['episodes']}) | [{lo:.2f}, {hi:.2f}] | {s['final_distance_mean']:.3f}{_units(s)} | "
                     f"{_fmt(s['plan_ms_median'])} | {_fmt(s['plan_ms_p95'])} | "
                     f"{_fmt(s.get('act_ms_per_step'), 2)} | {s['steps_mean']:.1f} |")
    return "\n".join(lines)
