"""Summaries of dataset files (``wm data inspect``): numbers and a contact sheet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from envs.dataset import Episodes, read_dataset


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


def frame_grid(data: Episodes, episodes: int = 8, frames: int = 8, gap: int = 2) -> np.ndarray:
    """Image frames in a grid, uint8 ``(rows * (H + gap), frames * (W + gap), 3)``.

    Row ``r`` is one of ``episodes`` episodes spread over the file; its ``frames`` columns
    are evenly spaced from the first to the last observation.
    """
    if data.obs.dtype != np.uint8 or data.obs.ndim != 4:
        raise ValueError(f"frame_grid needs image observations, got {data.obs.dtype} {data.obs.shape[1:]}")
    rows = np.unique(np.linspace(0, data.num_episodes - 1, min(episodes, data.num_episodes)).astype(int))
    h, w = data.obs.shape[1:3]
    sheet = np.full((len(rows) * (h + gap), frames * (w + gap), 3), 255, dtype=np.uint8)
    for r, i in enumerate(rows):
        obs = data.episode(int(i))["obs"]
        for c, t in enumerate(np.linspace(0, len(obs) - 1, frames).astype(int)):
            sheet[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = obs[t]
    return sheet


def _state_sheet(data: Episodes, episodes: int, out: Path) -> None:
    """Trajectories of state dims 0 and 1 (e.g. the agent's x, y), one colour per episode."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for i in np.unique(np.linspace(0, data.num_episodes - 1, min(episodes, data.num_episodes)).astype(int)):
        s = data.episode(int(i))["states"]
        ax.plot(s[:, 0], s[:, 1] if s.shape[1] > 1 else np.arange(len(s)), lw=1)
        ax.plot(s[:1, 0], s[:1, 1] if s.shape[1] > 1 else [0], "k.", ms=4)
    ax.set(xlabel="state[0]", ylabel="state[1]", title=f"{data.meta['env_id']}: {episodes} episodes (dot: start)")
    ax.set_aspect("equal", adjustable="datalim")
    fig.savefig(out)


def contact_sheet(path: str | Path, out: str | Path, episodes: int = 8, frames: int = 8, scale: int = 2) -> Path:
    """Write a PNG of ``path``'s data: image frames (pixel datasets) or state trajectories.

    Refuses to overwrite ``out``.
    """
    import imageio.v3 as iio

    out = Path(out)
    if out.exists():
        raise FileExistsError(f"{out}: exists (choose another path)")
    data = read_dataset(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    if data.obs.dtype == np.uint8 and data.obs.ndim == 4:
        sheet = frame_grid(data, episodes, frames)
        iio.imwrite(out, sheet.repeat(scale, axis=0).repeat(scale, axis=1))
    else:
        _state_sheet(data, episodes, out)
    return out
