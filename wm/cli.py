"""``wm``: the command line.  It parses, loads the config and calls one library function per verb."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agents.report import results_table
from envs.dataset import DatasetError
from envs.inspect import contact_sheet, format_summary, summarize
from envs.minari_io import export_minari, import_minari
from wm import pipeline
from wm.bench import bench_suite
from wm.config import ConfigError, RunConfig, load_config
from worldmodel.checkpoint import CheckpointError

DESCRIPTION = """Latent world-model planning. With no config, every verb uses the embedded default
experiment: TwoRoom (state observations), a VICReg JEPA, latent CEM-MPC."""


def _common(p: argparse.ArgumentParser, out_help: str) -> None:
    p.add_argument("--config", type=Path, help="YAML experiment config (default: the embedded default)")
    p.add_argument("--out", type=Path, help=out_help)
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a config value, e.g. --set train.steps=2000 (repeatable)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wm", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="verb", required=True)
    p = sub.add_parser("run", help="collect, train and evaluate into a new run directory")
    _common(p, "run directory (default: runs/<time>-<env>-<obs>)")
    p = sub.add_parser("collect", help="record exploration data into RUN/data/dataset.h5")
    _common(p, "run directory (required)")
    p.add_argument("--append", action="store_true", help="add episodes to an existing dataset")
    p = sub.add_parser("train", help="train a world model on RUN/data/dataset.h5 (or data.path); "
                                     "under torchrun --nproc-per-node N, with DDP")
    _common(p, "run directory (required)")
    p.add_argument("--resume", action="store_true", help="continue exactly from RUN/checkpoints/train_state.pt")
    p = sub.add_parser("eval", help="evaluate eval.agents; writes RUN/eval/<agent>[-<planner>]/results.json")
    _common(p, "run directory (required)")
    p.add_argument("--checkpoint", type=Path, help="checkpoint dir (default: RUN/checkpoints)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="split the episodes across N processes (same as --set eval.workers=N)")
    p.add_argument("--videos", type=int, metavar="N",
                   help="render the first N episodes of each agent to mp4 (same as --set eval.videos=N)")
    p = sub.add_parser("bench", help="run the benchmark suite; write results files, BENCHMARKS.md, README table")
    p.add_argument("--suite", type=Path, default=Path("configs/bench"), help="folder of task files")
    p.add_argument("--only", default="", help="comma-separated task names")
    p.add_argument("--quick", action="store_true", help="small budgets (minutes); results go to RESULTS/quick")
    p.add_argument("--results", type=Path, default=Path("benchmarks/results"), help="results folder")
    p.add_argument("--runs", type=Path, default=Path("runs/bench"), help="where run directories go")
    p.add_argument("--report-only", action="store_true", help="only regenerate the reports from results files")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p = sub.add_parser("data", help="dataset tools")
    data_sub = p.add_subparsers(dest="data_verb", required=True)
    q = data_sub.add_parser("inspect", help="episodes, steps, spaces and state coverage of a dataset")
    q.add_argument("path", type=Path, help="dataset file (.h5)")
    q.add_argument("--sheet", type=Path, help="also write a contact sheet PNG (frames, or state trajectories)")
    q = data_sub.add_parser("export-minari", help="write a dataset file as a local Minari dataset")
    q.add_argument("path", type=Path, help="dataset file (.h5)")
    q.add_argument("dataset_id", help="Minari dataset id, e.g. wm/tworoom-random-v0")
    q.add_argument("--root", type=Path, help="Minari datasets directory (default: MINARI_DATASETS_PATH or ~/.minari)")
    q = data_sub.add_parser("import-minari", help="convert a local Minari dataset to a dataset file for training")
    q.add_argument("source", help="Minari dataset id (under --root) or dataset directory")
    q.add_argument("out", type=Path, help="dataset file to write (.h5; refuses to overwrite)")
    q.add_argument("--root", type=Path, help="Minari datasets directory (default: MINARI_DATASETS_PATH or ~/.minari)")
    q.add_argument("--obs-key", default="observation", help="key of dict observations (default: observation)")
    return parser


def _out(args: argparse.Namespace, cfg: RunConfig) -> Path:
    if args.out is not None:
        return args.out
    if args.verb == "run":
        return pipeline.default_run_dir(cfg)
    raise ConfigError(f"wm {args.verb}: --out RUN_DIR is required")


def _data(args: argparse.Namespace) -> int:
    if args.data_verb == "inspect":
        print(format_summary(summarize(args.path)))
        if args.sheet is not None:
            print(f"contact sheet -> {contact_sheet(args.path, args.sheet)}")
    elif args.data_verb == "export-minari":
        print(f"Minari dataset {args.dataset_id} -> {export_minari(args.path, args.dataset_id, args.root)}")
    elif args.data_verb == "import-minari":
        data = import_minari(args.source, args.out, args.root, args.obs_key)
        print(f"imported {data.num_episodes} episodes, {data.num_steps} steps -> {args.out}")
    return 0


def _eval_flags(args: argparse.Namespace) -> list[str]:
    """``--workers`` / ``--videos`` as ``--set`` overrides."""
    flags = {"workers": getattr(args, "workers", None), "videos": getattr(args, "videos", None)}
    return [f"eval.{key}={value}" for key, value in flags.items() if value is not None]


def dispatch(args: argparse.Namespace) -> int:
    if args.verb == "data":
        return _data(args)
    if args.verb == "bench":
        print(bench_suite(args.suite, [n for n in args.only.split(",") if n], args.quick, args.results,
                          args.runs, args.report_only, not args.quiet))
        return 0
    cfg = load_config(args.config, args.set + _eval_flags(args))
    out, progress = _out(args, cfg), not args.quiet
    if args.verb == "run":
        print(f"run directory: {out}")
        print(results_table(pipeline.run(cfg, out, progress)))
    elif args.verb == "collect":
        data = pipeline.collect_data(cfg, out, append=args.append, progress=progress)
        print(f"collected {data.num_episodes} episodes, {data.num_steps} steps -> "
              f"{pipeline.dataset_path(cfg, out)}")
    elif args.verb == "train":
        m = pipeline.train_model(cfg, out, progress, resume=args.resume)
        if m is not None:  # DDP ranks > 0 print nothing
            print(f"trained in {m['wall_s']:.0f}s: loss {m['train/loss']:.4f}, probe R^2 {m['probe/r2_mean']:.3f}, "
                  f"eff. rank {m['collapse/eff_rank']:.1f} -> {out / 'checkpoints'}")
    elif args.verb == "eval":
        summaries = pipeline.evaluate_agents(cfg, out, args.checkpoint, progress)
        if summaries:  # under torchrun only rank 0 has them
            print(results_table(summaries))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return dispatch(args)
    except (ConfigError, DatasetError, CheckpointError, FileExistsError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
