"""PNG plots of sweep records (matplotlib, no pyplot state)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def line_plot(rows: Sequence[dict[str, Any]], x: str, y: str, group: str, path: str | Path, *, xlabel: str,
              ylabel: str, title: str, logx: bool = False, logy: bool = False) -> Path:
    """One line per value of ``rows[i][group]``: ``y`` against ``x``.

    A ``y`` of ``success_rate`` gets its Wilson 95 % interval (``success_ci95``) as error bars
    and a [0, 1] axis; lines get distinct markers, as they often coincide.
    """
    fig = Figure(figsize=(5.5, 3.8), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    markers = "osD^vP*X"
    for k, name in enumerate(dict.fromkeys(r[group] for r in rows)):
        pts = sorted((r for r in rows if r[group] == name), key=lambda r: r[x])
        xs, ys = np.array([r[x] for r in pts]), np.array([r[y] for r in pts])
        if y == "success_rate":
            ci = np.array([r["success_ci95"] for r in pts])
            ax.errorbar(xs, ys, yerr=[ys - ci[:, 0], ci[:, 1] - ys], marker=markers[k % 8], capsize=3, alpha=0.8,
                        label=str(name))
            ax.set_ylim(-0.03, 1.05)
        else:
            ax.plot(xs, ys, marker=markers[k % 8], alpha=0.8, label=str(name))
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(title=group, fontsize=8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return Path(path)
