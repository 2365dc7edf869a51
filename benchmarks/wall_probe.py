"""Does the predictor respect the wall?  Locate the random-wall task loss of a trained run.

TwoRoom random wall under the task protocol fails when latent MPC ends pressed against the wall on
the start side. This control asks why, for one trained run (state or pixels):

1. ``episodes``: latent MPC on the task protocol's episodes, each failure classified by where it ends
   (against the wall on the start side, or crossed into the goal's room and short of the goal);
2. ``push``: from each failure's final state, the action that pushes straight at the wall (towards
   the goal's room, ``--magnitude``) is held for ``--steps`` model steps, once in the simulator and
   once in the learned predictor; an MLP probe fitted on the run's dataset (latent -> agent xy) reads
   the predicted latents. Where the predictor has the agent pass through the wall while the simulator
   keeps it there, the planner is exploiting a model error;
3. ``data``: the same probe's error one model step ahead on the dataset's own transitions, blocked
   (pushing into the wall away from the door, barely moving) against free ones: whether the predictor
   learned blocking where the data shows it.

Usage: ``python -m benchmarks.wall_probe RUN [RUN ...] [--episodes 50] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import h5py
import numpy as np
import torch

import wm
from benchmarks.timing import write_artifact
from wm.provenance import code_at_start
from worldmodel.predictor_phase import encode_frames

RESULTS = Path(__file__).resolve().parent / "results"
WALL_MARGIN = 0.15
"""A failure ending within this x-distance (m) of the wall, on the start side, is 'against the wall'."""


def fit_probe(z: torch.Tensor, xy: np.ndarray, steps: int = 2000, seed: int = 0) -> torch.nn.Module:
    """An MLP ``latent (N, D) -> xy (N, 2)`` fitted on all rows (inputs standardised inside)."""
    torch.manual_seed(seed)
    mu, sd = z.mean(0), z.std(0) + 1e-6
    net = torch.nn.Sequential(torch.nn.Linear(z.shape[1], 256), torch.nn.GELU(), torch.nn.Linear(256, 256),
                              torch.nn.GELU(), torch.nn.Linear(256, xy.shape[1]))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    y = torch.as_tensor(xy, dtype=torch.float32)
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        i = torch.randint(len(z), (256,), generator=g)
        loss = (net((z[i] - mu) / sd) - y[i]).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return torch.nn.Sequential(_Affine(mu, sd), net).eval()


class _Affine(torch.nn.Module):
    def __init__(self, mu: torch.Tensor, sd: torch.Tensor):
        super().__init__()
        self.mu, self.sd = mu, sd

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return (z - self.mu) / self.sd


def encode(model, obs: np.ndarray) -> torch.Tensor:
    """Latents ``(N, D)`` of observations ``(N, ...)`` (the predictor phase's chunked encoder)."""
    return torch.as_tensor(encode_frames(model, obs, torch.device("cpu")))


def run_episode(agent, env, seed: int) -> dict:
    """One task episode of ``agent``: success, whether the agent crossed the wall, where it ended."""
    agent.seed(seed)
    obs, info = env.reset(seed=seed)
    agent.reset(obs, info)
    u = env.unwrapped
    side0 = np.sign(u.data.qpos[0] - u.wall_x)
    crossed, success, done = False, bool(info["success"]), False
    while not done:
        obs, _, terminated, truncated, info = env.step(agent.act(obs))
        crossed |= bool(np.sign(u.data.qpos[0] - u.wall_x) != side0)
        success |= bool(info["success"])
        done = terminated or truncated
    end = u.data.qpos[:2].copy()
    against = not success and not crossed and abs(end[0] - u.wall_x) < WALL_MARGIN
    return {"seed": seed, "success": success, "crossed": crossed, "against_wall": bool(against),
            "end": end.round(3).tolist(), "goal": u.goal.round(3).tolist(), "wall_x": round(float(u.wall_x), 3),
            "door_y": round(float(u.door_y), 3)}


def push_test(model, env, probe: torch.nn.Module, ep: dict, steps: int, magnitude: float) -> dict:
    """Hold a push at the wall from ``ep``'s end state for ``steps`` model steps: predicted vs true agent x."""
    obs, _ = env.reset(seed=ep["seed"], options={"start": np.array(ep["end"]), "goal": np.array(ep["goal"])})
    u = env.unwrapped
    push = np.sign(u.goal[0] - u.wall_x) * magnitude
    actions = np.tile(np.array([[push, 0.0]], dtype=np.float32), (steps, 1))
    with torch.no_grad():
        z = model.rollout_env_actions(encode(model, obs[None]), torch.as_tensor(actions[None]))[0]
        pred_x = probe(z)[:, 0].numpy()
    true_x = []
    for a in actions:
        for _ in range(model.frameskip):
            env.step(a)
        true_x.append(float(u.data.qpos[0]))
    x0, side = ep["end"][0], np.sign(ep["end"][0] - u.wall_x)
    return {"seed": ep["seed"], "start_x": x0, "wall_x": ep["wall_x"],
            "pred_x": pred_x.round(3).tolist(), "true_x": np.round(true_x, 3).tolist(),
            "pred_crosses": bool((np.sign(pred_x - u.wall_x) != side).any()),
            "true_crosses": bool((np.sign(np.array(true_x) - u.wall_x) != side).any())}


def transitions(path: Path, frameskip: int, samples: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Model-step transitions of a random-wall dataset: rows of ``o_t`` and ``o_{t+k}``, the ``k`` actions
    ``(N, k*A)``, the next states' xy and a ``blocked`` flag; ``samples`` of each kind, drawn at random."""
    with h5py.File(path, "r") as f:
        s, a, lengths = f["states"][:], f["actions"][:], f["episode_lengths"][:]
    obs_at = np.r_[0, np.cumsum(lengths + 1)]
    act_at = np.r_[0, np.cumsum(lengths)]
    rows, acts, blocked = [], [], []
    for i, n in enumerate(lengths):
        for t in range(0, n - frameskip + 1, frameskip):
            r, ra = obs_at[i] + t, act_at[i] + t
            x0, wall_x = s[r, 0], s[r, 4]
            push = np.sign(wall_x - x0) * a[ra:ra + frameskip, 0].sum()
            blocked.append(abs(x0 - wall_x) < 0.2 and push > 1.0 and abs(s[r, 1] - s[r, 5]) > 0.2
                           and abs(s[r + frameskip, 0] - x0) < 0.05)
            rows.append(r)
            acts.append(a[ra:ra + frameskip].reshape(-1))
    rows, acts, blocked = np.array(rows), np.array(acts, dtype=np.float32), np.array(blocked)
    rng = np.random.default_rng(seed)
    pick = [rng.choice(np.where(blocked == b)[0], min(samples, int((blocked == b).sum())), replace=False)
            for b in (True, False)]
    sel = np.sort(np.concatenate(pick))
    return {"rows": rows[sel], "next_rows": rows[sel] + frameskip, "actions": acts[sel],
            "next_xy": s[rows[sel] + frameskip, :2], "xy": s[rows[sel], :2], "blocked": blocked[sel],
            "blocked_fraction": float(blocked.mean())}


def data_test(model, probe: torch.nn.Module, path: Path, samples: int) -> dict:
    """Probe error (m) of one predicted model step on blocked and free dataset transitions."""
    tr = transitions(path, model.frameskip, samples)
    with h5py.File(path, "r") as f:
        z0 = encode(model, f["obs"][tr["rows"]])
    with torch.no_grad():
        pred = probe(model.predict(z0, torch.as_tensor(tr["actions"]))).numpy()
    err = np.linalg.norm(pred - tr["next_xy"], axis=1)
    moved = np.linalg.norm(pred - tr["xy"], axis=1)
    b = tr["blocked"]
    return {"blocked_fraction": round(tr["blocked_fraction"], 4), "n_blocked": int(b.sum()), "n_free": int((~b).sum()),
            "blocked_err_median_m": round(float(np.median(err[b])), 3),
            "free_err_median_m": round(float(np.median(err[~b])), 3),
            "blocked_predicted_move_median_m": round(float(np.median(moved[b])), 3)}


def probe_run(run: Path, episodes: int, seed: int, steps: int, magnitude: float, samples: int) -> dict:
    """The three measurements for one run."""
    cfg = wm.load_run_config(run)
    model = wm.load_model(run)
    path = Path(cfg.data.path or run / "data" / "dataset.h5")
    with h5py.File(path, "r") as f:
        idx = np.sort(np.random.default_rng(0).choice(len(f["states"]), min(samples, len(f["states"])), replace=False))
        probe = fit_probe(encode(model, f["obs"][idx]), f["states"][idx][:, :2])
    agent, env = wm.load_agent(run), wm.make_env(run)
    eps = [run_episode(agent, env, seed + i) for i in range(episodes)]
    fails = [e for e in eps if not e["success"]]
    pushes = [push_test(model, env, probe, e, steps, magnitude) for e in fails if e["against_wall"]]
    return {"run": str(run), "obs_type": cfg.env.obs_type, "train_steps": cfg.train.steps,
            "predictor_steps": cfg.train.predictor_steps, "episodes": episodes,
            "successes": sum(e["success"] for e in eps), "failures_against_wall": sum(e["against_wall"] for e in eps),
            "failures_crossed": sum(e["crossed"] for e in fails),
            "pushes_predicted_through_wall": sum(p["pred_crosses"] for p in pushes),
            "pushes_through_wall_in_simulator": sum(p["true_crosses"] for p in pushes),
            "data": data_test(model, probe, path, samples // 8), "pushes": pushes, "episode_records": eps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--seed", type=int, default=100000, help="first episode seed (the bench's eval.seed)")
    parser.add_argument("--steps", type=int, default=10, help="model steps of the held push (the plan horizon)")
    parser.add_argument("--magnitude", type=float, default=1.0, help="push action along x, in [0, 1]")
    parser.add_argument("--samples", type=int, default=8000, help="dataset frames for the probe")
    parser.add_argument("--out", type=Path, default=RESULTS / "wall_probe.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    commit, dirty = code_at_start()
    result = {"git_commit": commit, "git_dirty": dirty, "steps": args.steps, "magnitude": args.magnitude,
              "seed": args.seed, "runs": [probe_run(r, args.episodes, args.seed, args.steps, args.magnitude,
                                                    args.samples) for r in args.runs]}
    write_artifact(result, args.out)
    print(json.dumps([{k: v for k, v in r.items() if k not in ("pushes", "episode_records")} for r in result["runs"]],
                     indent=1))


if __name__ == "__main__":
    main()
