"""Does ``torch.compile`` pay for the planning rollout?  Eager vs compiled, and the one-off compile time.

Times one rollout of the pixel model's predictor at the CEM shapes (``--samples`` x horizon
``--horizon``), eager and compiled (inductor, ``dynamic=False``), round-robin, and prints the
compile time and how many plans (``--iterations`` rollouts each) it takes to pay it back
(never, when compiled is not faster).

Usage: ``python -m benchmarks.compile_check [--threads 1]``
"""

from __future__ import annotations

import argparse
import time

import torch

from benchmarks.timing import interleaved_medians
from wm.config import load_config
from worldmodel.fast_rollout import planning_rollout
from worldmodel.model import WorldModel


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="configs/tworoom_pixels.yaml")
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--horizon", type=int, default=5)
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = load_config(args.config, [])
    torch.manual_seed(0)
    model = WorldModel(cfg.model, (cfg.env.image_size, cfg.env.image_size, 3), 2).eval()
    roll = planning_rollout(model)
    z0 = torch.randn(cfg.model.latent_dim).expand(args.samples, -1)
    actions = torch.rand(args.samples, args.horizon, model.action_dim) * 2 - 1
    compiled = torch.compile(roll.__call__, dynamic=False)
    with torch.inference_mode():
        t0 = time.perf_counter()
        compiled(z0, actions)
        compile_s = time.perf_counter() - t0
        diff = float((compiled(z0, actions) - roll(z0, actions)).abs().max())
        eager_s, comp_s = interleaved_medians([lambda: roll(z0, actions), lambda: compiled(z0, actions)],
                                              args.repeats, warmup=3)
    gain = (eager_s - comp_s) * args.iterations
    payback = f"{compile_s / gain:.0f} plans" if gain > 0 else "never"
    print(f"rollout {args.samples} x {args.horizon}, {args.threads} thread(s): eager {1000 * eager_s:.2f} ms, "
          f"compiled {1000 * comp_s:.2f} ms (max diff {diff:.1e}); compile {compile_s:.1f} s, pays back after "
          f"{payback}")


if __name__ == "__main__":
    main()
