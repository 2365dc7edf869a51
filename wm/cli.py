"""``wm``: the command line.  It parses, loads the config and calls one library function per verb."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from envs.imports import import_user_modules
from wm import config_doc
from wm.config import ConfigError, load_config

if TYPE_CHECKING:
    from wm.config import RunConfig

# The verbs' modules (torch, MuJoCo, h5py) are imported where a verb runs, so `wm --help` stays fast.

DESCRIPTION = """Latent world-model planning. With no config, every verb uses the embedded default
experiment: TwoRoom (state observations), a VICReg JEPA, latent CEM-MPC."""


def _common(p: argparse.ArgumentParser, out_help: str) -> None:
    p.add_argument("--config", type=Path, help="YAML experiment config (default: the embedded default)")
    p.add_argument("--out", type=Path, help=out_help)
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a config value, e.g. --set train.steps=2000 (repeatable)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE",
                   help="import a module of yours first (it registers env ids / adapters; pkg.mod or file.py; "
                        "the working directory is on the path; repeatable; adds to env.imports)")


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
    p.add_argument("--force", action="store_true", help="replace the run's trained model (refused without it)")
    p = sub.add_parser("eval", help="evaluate eval.agents; writes RUN/eval/<agent>[-<planner>]/results.json")
    _common(p, "run directory (required)")
    p.add_argument("--checkpoint", type=Path, help="checkpoint dir (default: RUN/checkpoints)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="split the episodes across N processes (same as --set eval.workers=N)")
    p.add_argument("--videos", type=int, metavar="N",
                   help="render the first N episodes of each agent to mp4 (same as --set eval.videos=N)")
    p.add_argument("--force", action="store_true",
                   help="replace results of a different evaluation (other episodes, seed, plan...)")
    p = sub.add_parser("bench", help="run the benchmark suite; write results files, BENCHMARKS.md, README table")
    p.add_argument("--suite", type=Path, default=Path("configs/bench"), help="folder of task files")
    p.add_argument("--only", default="", help="comma-separated task names")
    p.add_argument("--quick", action="store_true", help="small budgets (minutes); results go to RESULTS/quick")
    p.add_argument("--results", type=Path, default=Path("benchmarks/results"), help="results folder")
    p.add_argument("--runs", type=Path, default=Path("runs/bench"), help="where run directories go")
    p.add_argument("--report-only", action="store_true", help="only regenerate the reports from results files")
    p.add_argument("--add-seeds", action="store_true",
                   help="train and evaluate only the seeds missing from existing results files, keeping their rows")
    p.add_argument("--seeds", default="", metavar="S1,S2",
                   help="with --add-seeds: only these of the missing seeds (processes adding different ones may "
                        "run side by side)")
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
    config_doc.add_parser(sub)
    return parser


def _out(args: argparse.Namespace, cfg: RunConfig) -> Path:
    from wm import pipeline
    if args.out is not None:
        return args.out
    if args.verb == "run":
        return pipeline.default_run_dir(cfg)
    raise ConfigError(f"wm {args.verb}: --out RUN_DIR is required")


def _data(args: argparse.Namespace) -> int:
    from envs.inspect import contact_sheet, format_summary, summarize
    from envs.minari_io import export_minari, import_minari
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


def _seed_list(text: str) -> tuple[int, ...] | None:
    """``--seeds 1,2`` -> ``(1, 2)``; empty: None (every seed); a non-integer is a config error."""
    if not text:
        return None
    try:
        return tuple(int(s) for s in text.split(","))
    except ValueError:
        raise ConfigError(f"--seeds: expected comma-separated integers, got {text!r}") from None


def _eval_flags(args: argparse.Namespace) -> list[str]:
    """``--workers`` / ``--videos`` as ``--set`` overrides."""
    flags = {"workers": getattr(args, "workers", None), "videos": getattr(args, "videos", None)}
    return [f"eval.{key}={value}" for key, value in flags.items() if value is not None]


def with_imports(cfg: RunConfig, imports: list[str]) -> RunConfig:
    """``cfg`` with ``--import`` modules added to ``env.imports``, all of them imported now (a failure:
    one line naming the module, before any work)."""
    names = tuple(dict.fromkeys([*cfg.env.imports, *imports]))
    if names != cfg.env.imports:
        cfg = dataclasses.replace(cfg, env=dataclasses.replace(cfg.env, imports=names))
    import_user_modules(names)
    return cfg


def dispatch(args: argparse.Namespace) -> int:
    if args.verb == "config":
        return config_doc.run(args)
    if args.verb == "data":
        return _data(args)
    if args.verb == "bench":
        from wm.bench import bench_suite
        print(bench_suite(args.suite, [n for n in args.only.split(",") if n], args.quick, args.results,
                          args.runs, args.report_only, not args.quiet, args.add_seeds, _seed_list(args.seeds)))
        return 0
    cfg = with_imports(load_config(args.config, args.set + _eval_flags(args)), args.imports)
    from agents.report import results_table
    from wm import pipeline
    out, progress = _out(args, cfg), not args.quiet
    if args.verb == "run":
        print(f"run directory: {out}")
        print(results_table(pipeline.run(cfg, out, progress)))
    elif args.verb == "collect":
        data = pipeline.collect_data(cfg, out, append=args.append, progress=progress)
        print(f"collected {data.num_episodes} episodes, {data.num_steps} steps -> "
              f"{pipeline.dataset_path(cfg, out)}")
    elif args.verb == "train":
        m = pipeline.train_model(cfg, out, progress, resume=args.resume, force=args.force)
        if m is not None:  # DDP ranks > 0 print nothing
            print(_train_line(m, cfg, out / "checkpoints"))
    elif args.verb == "eval":
        summaries = pipeline.evaluate_agents(cfg, out, args.checkpoint, progress, force=args.force)
        if summaries:  # under torchrun only rank 0 has them
            print(results_table(summaries))
    return 0


def _train_line(m: dict, cfg: RunConfig, ckpt: Path) -> str:
    """What ``wm train`` prints: the last step's loss (joint or predictor phase), or that none was taken."""
    loss = m.get("train/loss", m.get("predictor_phase/loss_pred"))
    if loss is None:  # a --resume of a finished run: no step to take
        steps = cfg.train.steps + cfg.train.predictor_steps
        return f"already trained to {steps} steps; nothing to do -> {ckpt}"
    kind = "loss" if "train/loss" in m else "predictor-phase loss"
    return (f"trained in {m['wall_s']:.0f}s: {kind} {loss:.4f}, probe R^2 {m['probe/r2_mean']:.3f}, "
            f"eff. rank {m['collapse/eff_rank']:.1f} -> {ckpt}")


def os_error_line(err: OSError) -> str:
    """An OS error as one line: ``PATH: reason`` (no errno), or the message it was raised with."""
    if err.strerror is None:
        return str(err)
    where = f"{err.filename}: " if err.filename is not None else ""
    return f"{where}{err.strerror.lower()}"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from wm.provenance import code_at_start
    code_at_start()  # results record the code loaded now, not the tree when a long run ends
    from envs.dataset import DatasetError
    from worldmodel.checkpoint import CheckpointError
    try:
        return dispatch(args)
    except (ConfigError, DatasetError, CheckpointError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # permissions, a file where a directory should be, a full disk...
        print(f"error: {os_error_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
