"""Does a state variable help predict the future? The pressure a predictive objective puts on a latent.

A JEPA-style objective keeps a variable in its latent when the variable helps predict the next latents.
This script measures that pressure on the true states of a dataset: a small MLP predicts the change of
the state ``k`` env steps ahead from the current state and the ``k`` actions taken, once with every
state variable and once without the ``--drop`` columns. Where the held-out R^2 barely moves, the
dropped variable is *predictable* (it can be carried forward) but, to a short fit, not *predictive*: a
latent without it predicts its own future about as well as one with it, and the prediction loss gives the
encoder little reason to start keeping it.

``--angle SIN,COS`` names a (sin, cos) pair scored as the wrapped angle change instead of two deltas.
With ``--angle`` and ``--body X,Y`` (the body's position columns), a third predictor also gets the other
2-D position (``--point``, default the first two columns) relative to the body and the 2-D actions, both
turned into the body's frame: features a small network learns only slowly from raw (sin, cos) products. The
gap between the third predictor and the one without the dropped columns is what the angle is worth once
that rotation is learnt; the gap between the first two shows only what a short fit finds.
The rotation figures count ``k``-step windows turning by more than ``--turn`` radians (the data's coverage).

Usage: ``python -m benchmarks.predictive_value DATA.h5 [...] --drop 4,5 --angle 4,5 [--body 2,3] --k 5 [--out F]``
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import h5py
import numpy as np
import torch
import yaml

from benchmarks.timing import write_artifact
from benchmarks.velocity_probe import mlp_r2
from wm.provenance import code_at_start

RESULTS = Path(__file__).resolve().parent / "results"


def windows(lengths: np.ndarray, k: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Start rows of ``k``-step windows in the flat ``states`` ``(T+1 per episode)`` and ``actions`` ``(T)``
    arrays of a dataset with episodes of ``lengths`` steps: ``(state_rows (N,), action_rows (N,))``."""
    s_rows, a_rows, s0, a0 = [], [], 0, 0
    for n in lengths.tolist():
        t = np.arange(0, n - k + 1, stride)
        s_rows.append(s0 + t)
        a_rows.append(a0 + t)
        s0, a0 = s0 + n + 1, a0 + n
    return np.concatenate(s_rows), np.concatenate(a_rows)


def future_change(states: np.ndarray, rows: np.ndarray, k: int, angle: tuple[int, int] | None) -> np.ndarray:
    """Change of each state column ``k`` steps after ``rows`` ``(N, S)``; an ``angle`` (sin, cos) pair
    becomes one wrapped angle change, appended last: ``(N, S - 1)``."""
    now, later = states[rows], states[rows + k]
    delta = later - now
    if angle is None:
        return delta
    turn = np.arctan2(later[:, angle[0]], later[:, angle[1]]) - np.arctan2(now[:, angle[0]], now[:, angle[1]])
    keep = [c for c in range(states.shape[1]) if c not in angle]
    return np.concatenate([delta[:, keep], np.angle(np.exp(1j * turn))[:, None]], axis=1)


def target_names(state_dim: int, angle: tuple[int, int] | None) -> list[str]:
    """Labels of :func:`future_change`'s columns."""
    keep = [c for c in range(state_dim) if angle is None or c not in angle]
    return [f"d_state{c}" for c in keep] + (["d_angle"] if angle is not None else [])


def body_frame(states: np.ndarray, actions: np.ndarray, angle: tuple[int, int], body: tuple[int, int],
               point: tuple[int, int]) -> np.ndarray:
    """``point - body`` and each 2-D action turned into the body's frame: ``(N, 2 + 2k)`` from states
    ``(N, S)`` and actions ``(N, k, 2)``."""
    theta = np.arctan2(states[:, angle[0]], states[:, angle[1]])
    c, s = np.cos(theta)[:, None], np.sin(theta)[:, None]
    vecs = np.concatenate([(states[:, point] - states[:, body])[:, None, :], actions], axis=1)
    turned = np.stack([c * vecs[..., 0] + s * vecs[..., 1], -s * vecs[..., 0] + c * vecs[..., 1]], axis=-1)
    return turned.reshape(len(states), -1)


def load(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(episode_lengths, states, actions)`` of a dataset file."""
    with h5py.File(path, "r") as f:
        return f["episode_lengths"][:], f["states"][:], f["actions"][:]


def _gain(with_it: list[float], without: list[float]) -> list[float]:
    return [round(a - b, 4) for a, b in zip(with_it, without, strict=True)]


def measure(data: tuple[np.ndarray, np.ndarray, np.ndarray], k: int, drop: list[int],
            angle: tuple[int, int] | None, samples: int, steps: int, turn: float,
            body: tuple[int, int] | None = None, point: tuple[int, int] = (0, 1)) -> dict:
    """R^2 of the future-change predictor with all state columns and without ``drop``, for one dataset
    ``(episode_lengths, states, actions)`` (:func:`load`)."""
    lengths, states, actions = data
    s_rows, a_rows = windows(lengths, k, stride=1)
    pick = np.sort(np.random.default_rng(0).choice(len(s_rows), size=min(samples, len(s_rows)), replace=False))
    s_rows, a_rows = s_rows[pick], a_rows[pick]
    steps_acts = np.stack([actions[a_rows + j] for j in range(k)], axis=1)  # (N, k, A)
    acts = steps_acts.reshape(len(s_rows), -1)
    y = future_change(states, s_rows, k, angle)
    full = np.concatenate([states[s_rows], acts], axis=1)
    kept = [c for c in range(states.shape[1]) if c not in drop]
    without = np.concatenate([states[s_rows][:, kept], acts], axis=1)
    r2_full, r2_without = mlp_r2(full, y, steps=steps), mlp_r2(without, y, steps=steps)
    out = {"windows": len(s_rows), "targets": target_names(states.shape[1], angle),
           "r2_all_state": r2_full, "r2_without_dropped": r2_without, "r2_gain": _gain(r2_full, r2_without)}
    if angle is not None and body is not None:
        framed = np.concatenate([full, body_frame(states[s_rows], steps_acts, angle, body, point)], axis=1)
        out["r2_with_body_frame"] = mlp_r2(framed, y, steps=steps)
        out["r2_gain_body_frame"] = _gain(out["r2_with_body_frame"], r2_without)
    if angle is not None:
        out["frac_windows_turning"] = round(float((np.abs(y[:, -1]) > turn).mean()), 4)
    return out


def collection_facts(path: Path) -> dict:
    """The ``data`` section of the run config stored beside a collected dataset, where there is one."""
    cfg = path.parent.parent / "config.yaml"
    if not cfg.exists():
        return {}
    return (yaml.safe_load(cfg.read_text()) or {}).get("data", {})


def parse_columns(text: str | None) -> list[int]:
    """``"4,5"`` -> ``[4, 5]``; ``None`` or ``""`` -> ``[]``."""
    return [int(c) for c in text.split(",") if c.strip()] if text else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, nargs="+")
    parser.add_argument("--drop", required=True, help="state columns left out of the second predictor, e.g. 4,5")
    parser.add_argument("--angle", default=None, help="a (sin, cos) column pair scored as one angle change")
    parser.add_argument("--body", default=None,
                        help="with --angle: the body's x,y columns (adds the body-frame predictor)")
    parser.add_argument("--point", default="0,1",
                        help="with --body: the x,y columns of the point turned into its frame")
    parser.add_argument("--k", type=int, nargs="+", default=[5], help="env steps ahead")
    parser.add_argument("--samples", type=int, default=40000)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--turn", type=float, default=float(np.pi / 9))
    parser.add_argument("--out", type=Path, default=RESULTS / "predictive_value.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    drop, angle = parse_columns(args.drop), parse_columns(args.angle)
    if angle and len(angle) != 2:
        parser.error(f"--angle: expected two columns (sin,cos), got {args.angle!r}")
    pair = (angle[0], angle[1]) if angle else None
    body, point = parse_columns(args.body), parse_columns(args.point)
    if body and (not pair or len(body) != 2 or len(point) != 2):
        parser.error("--body: needs --angle and two columns each for --body and --point")
    frame = {"body": (body[0], body[1]), "point": (point[0], point[1])} if body else {}
    for p in args.data:
        if not p.is_file():
            parser.error(f"dataset not found: {p}")
    rows = []
    for p in args.data:
        data = load(p)
        rows += [{"data": str(p), **measure(data, k, drop, pair, args.samples, args.steps, args.turn, **frame),
                  "k": k, "collection": collection_facts(p)} for k in args.k]
    commit, dirty = code_at_start()
    result = {"git_commit": commit, "git_dirty": dirty, "drop": drop, "angle": angle, "samples": args.samples,
              "steps": args.steps, "turn_rad": args.turn, "body": body, "point": point if body else [], "rows": rows}
    write_artifact(result, args.out)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
