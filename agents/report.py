"""Tables of evaluation summaries (markdown and terminal)."""

from __future__ import annotations

from typing import Any


def _fmt_ms(x: float) -> str:
    return "-" if x != x else f"{x:.1f}"  # nan -> "-"


def results_table(summaries: list[dict[str, Any]]) -> str:
    """A markdown table: agent, success [95 % CI], final distance, plan ms, steps."""
    lines = ["| agent | success | 95% CI | final dist | plan ms (median) | plan ms (p95) | steps |",
             "|---|---|---|---|---|---|---|"]
    for s in summaries:
        lo, hi = s["success_ci95"]
        lines.append(f"| {s['agent']} | {s['success_rate']:.2f} ({round(s['success_rate'] * s['episodes'])}"
                     f"/{s['episodes']}) | [{lo:.2f}, {hi:.2f}] | {s['final_distance_mean']:.3f} | "
                     f"{_fmt_ms(s['plan_ms_median'])} | {_fmt_ms(s['plan_ms_p95'])} | {s['steps_mean']:.1f} |")
    return "\n".join(lines)
