"""Summaries of dataset files (``wm data inspect``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from envs.dataset import read_dataset


def summarize(path: str | Path) -> dict[str, Any]:
    """Episodes, steps, spaces and per-dimension coverage of the true state."""
    d = read_dataset(path)
    states = d.states
    return {
        "path": str(path), "env_id": d.meta["env_id"], "obs_type": d.meta["obs_type"],
        "episodes": d.num_episodes, "steps": d.num_steps,
        "episode_length": {"min": int(d.episode_lengths.min()), "mean": float(d.episode_lengths.mean()),
                           "max": int(d.episode_lengths.max())},
        "obs": {"shape": list(d.obs.shape[1:]), "dtype": str(d.obs.dtype)},
        "action": {"dim": int(d.actions.shape[1]), "low": d.meta["action_low"], "high": d.meta["action_high"]},
        "state_coverage": [{"dim": i, "min": float(states[:, i].min()), "p05": float(np.percentile(states[:, i], 5)),
                            "p95": float(np.percentile(states[:, i], 95)), "max": float(states[:, i].max()),
                            "std": float(states[:, i].std())} for i in range(states.shape[1])],
        "meta": {k: v for k, v in d.meta.items() if k not in ("action_low", "action_high")},
    }


def format_summary(s: dict[str, Any]) -> str:
    """Human-readable text of :func:`summarize`."""
    el = s["episode_length"]
    lines = [f"{s['path']}: {s['env_id']} ({s['obs_type']})",
             f"  episodes {s['episodes']}, steps {s['steps']} (length min {el['min']} / mean {el['mean']:.1f} / "
             f"max {el['max']})",
             f"  obs {tuple(s['obs']['shape'])} {s['obs']['dtype']}, action dim {s['action']['dim']} "
             f"in [{s['action']['low']}, {s['action']['high']}]",
             "  state coverage (dim: min / p05 / p95 / max, std):"]
    for c in s["state_coverage"]:
        lines.append(f"    {c['dim']}: {c['min']:+.3f} / {c['p05']:+.3f} / {c['p95']:+.3f} / {c['max']:+.3f}, "
                     f"{c['std']:.3f}")
    meta = s["meta"]
    lines.append(f"  policy {meta.get('policy')}, seed {meta.get('seed')}, code {meta.get('code_version')}, "
                 f"created {meta.get('created')}")
    return "\n".join(lines)
