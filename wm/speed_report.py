"""Markdown of the speed benchmarks (``plan_speed*.json``, ``scaling.json``, ``swm_compare.json``) for BENCHMARKS.md.

Every number comes from the results files written by ``python -m benchmarks.plan_speed``,
``python -m benchmarks.scaling`` and ``python -m benchmarks.swm_compare``; nothing is typed by hand.
"""

from __future__ import annotations

import json
from pathlib import Path


def load_json(path: Path) -> dict | None:
    """A results file's body; None when it is absent, a ValueError naming it when it is not JSON."""
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None


def machine_line(m: dict) -> str:
    """A results file's ``machine`` record as one line: CPU, torch version, commit and date."""
    return (f"{m.get('cpu', '?')}, torch {m.get('versions', {}).get('torch', '?')}, "
            f"commit `{str(m.get('git_commit', '?'))[:10]}`, {m.get('date', '?')}")


DEFAULT_PLAN_CONFIG = "configs/tworoom_pixels.yaml"  # the model benchmarks.plan_speed times by default
PLAN_SPEED_FILES = ("plan_speed.json", "plan_speed_wide.json")  # the first is its default output


def _plan_speed_command(res: dict, path: str) -> str:
    """The command that wrote ``res`` to ``path``: its non-default config, overrides and output."""
    parts = ["python -m benchmarks.plan_speed"]
    if res.get("config", DEFAULT_PLAN_CONFIG) != DEFAULT_PLAN_CONFIG:
        parts.append(f"--config {res['config']}")
    parts += [f"--set {o}" for o in res.get("overrides", [])]
    if Path(path).name != PLAN_SPEED_FILES[0]:
        parts.append(f"--out {path}")
    return " ".join(parts)


def plan_speed_markdown(res: dict, path: str = "benchmarks/results/plan_speed.json") -> str:
    """The planning-speed section of the results file ``path``: one row per thread count.

    Results that time the layer-chain floor (``floor_ms``: addmm + LayerNorm + GELU of the
    predictor's shapes) get its columns too; older results render as they always did.  A model
    other than the default one titles its section after its config.
    """
    b = res["budget"]
    floors = all("floor_ms" in run for run in res["runs"])
    split = any("fp32_split" in run["plan_ms"] for run in res["runs"])
    config = res.get("config", DEFAULT_PLAN_CONFIG)
    title = "## Planning speed" + ("" if config == DEFAULT_PLAN_CONFIG else f" (`{Path(config).stem}`)")
    lines = [title, "",
             f"One CEM plan, {b['samples']} samples x {b['iterations']} iterations, horizon {b['horizon']}, "
             f"model of `{res['config']}` (median of {b['repeats']}); {machine_line(res['machine'])}. "
             "`reference` is the generic rollout (before optimisation), `fp32` the planning rollout (default), "
             "`bf16` `plan.precision: bf16`, each on torch's intra-op threads"
             + ("; `split` scores the population in one slice per thread (`eval.plan_threads`, "
                "the default of `wm eval`)" if split else "") + ". " + _floors_text(floors), "",
             "| threads | reference ms | fp32 ms | bf16 ms | " + ("fp32 split ms | bf16 split ms | " if split else "")
             + "matmul fp32 ms | matmul bf16 ms | "
             + ("floor fp32 ms | floor bf16 ms | planner/floor | planner/floor bf16 | " if floors else "")
             + "planner/matmul | planner/matmul bf16 | oracle ms | latent/oracle |",
             "|---|---|---|---|---|---|" + ("---|---|" if split else "") + ("---|---|---|---|" if floors else "")
             + "---|---|---|---|"]
    lines += [_plan_speed_row(run, floors, split) for run in res["runs"]]
    lines += ["", f"Command: `{_plan_speed_command(res, path)}`", ""]
    return "\n".join(lines)


def _floors_text(floors: bool) -> str:
    if not floors:
        return "Goals: plan <= 100 ms on 2 cores, planner / matmul <= 2."
    return ("`matmul` is the bare matmul chain of the predictor's shapes, `floor` the same chain with the bias, "
            "LayerNorm and GELU the predictor runs; every column is timed round-robin, the oracle included. "
            "Goals: plan <= 100 ms on 2 cores, planner / matmul <= 2, planner / floor <= 1.2.")


def _plan_speed_row(run: dict, floors: bool, split: bool = False) -> str:
    p, m, r = run["plan_ms"], run["matmul_ms"], run["ratios"]
    oracle = f"{run['oracle_ms']:.0f}" if "oracle_ms" in run else "-"
    lo = f"{r['latent_over_oracle']:.3f}" if "latent_over_oracle" in r else "-"
    floor = ""
    if floors:
        f = run["floor_ms"]
        floor = (f"{f['fp32']:.1f} | {f['bf16']:.1f} | {r['planner_over_floor']:.2f} | "
                 f"{r['planner_over_floor_bf16']:.2f} | ")
    cols = ""
    if split:
        cols = (f"{p['fp32_split']:.1f} | {p['bf16_split']:.1f} | " if "fp32_split" in p else "- | - | ")
    return (f"| {run['threads']} | {p['reference']:.1f} | {p['fp32']:.1f} | {p['bf16']:.1f} | {cols}"
            f"{m['fp32']:.1f} | {m['bf16']:.1f} | {floor}{r['planner_over_matmul']:.2f} | "
            f"{r['planner_over_matmul_bf16']:.2f} | {oracle} | {lo} |")


def _fit(f: dict, unit: str) -> str:
    sign = "-" if f["intercept"] < 0 else "+"
    return f"{f['slope']:.3g} ms per {unit} {sign} {abs(f['intercept']):.3g} ms, R^2 = {f['r2']:.3f}"


def scaling_markdown(res: dict, link_dir: str) -> str:
    """The scaling section: linear fits, training throughput table, memory, plots."""
    p, m = res["plan"], res["memory"]
    kept = (" (after the training measurements in the same process, whose freed memory the allocator setting "
            "keeps)") if res.get("allocator") == "retain" else ""
    alloc = {"retain": "; allocator: `wm`'s (freed memory kept for reuse)",
             "system": "; allocator: glibc's default"}.get(res.get("allocator", ""), "")
    lines = ["## Scaling", "", f"{res['threads']} thread(s){alloc}; {machine_line(res['machine'])}.", "",
             f"- CEM plan time ({p['iterations']} iterations) vs samples {p['samples']}: "
             f"{_fit(p['fit_samples'], 'sample')}",
             f"- vs horizon {p['horizons']} (300 samples): {_fit(p['fit_horizon'], 'step')}",
             f"- memory over {m['episodes']} evaluation episodes: mean RSS of the first {m['window']} "
             f"{m['first_mean_mb']:.1f} MiB, of the last {m['window']} {m['last_mean_mb']:.1f} MiB, "
             f"peak {m['peak_mb']:.1f} MiB{kept}", "",
             "| training samples/s | " + " | ".join(f"batch {b}" for b in next(iter(res["train"].values()))
                                                    ["batch_sizes"]) + " |",
             "|---|" + "---|" * len(next(iter(res["train"].values()))["batch_sizes"])]
    for kind, t in res["train"].items():
        lines.append(f"| {kind} ({t['steps']} steps) | " + " | ".join(f"{x:.0f}" for x in t["samples_per_s"]) + " |")
    lines.append("")
    lines += [f"![{name}]({link_dir}/{name})" for name in res.get("plots", [])]
    lines += ["", "Command: `python -m benchmarks.scaling`", ""]
    return "\n".join(lines)


def _swm_command(res: dict) -> str:
    """The command that wrote ``res``: its episode count and our CEM's ``stop_tol`` variants."""
    tols = [name.split("=", 1)[1] for name in res["variants"] if name.startswith("ours cem stop_tol=")]
    return (f"python -m benchmarks.swm_compare --episodes {res['episodes']}"
            + (f" --tols {' '.join(tols)}" if tols else ""))


def swm_markdown(res: dict) -> str:
    """Planning CPU per solved episode, our planners against stable-worldmodel's on the same model and cost."""
    b, ratio = res["budget"], res.get("theirs_over_ours", {})
    lines = ["## Planning CPU per solved episode (against stable-worldmodel)", "",
             f"The same model (TwoRoom state), latent cost and receding-horizon loop; only the planner differs: "
             f"{b['samples']} samples x {b['iterations']} iterations, {b['elites']} elites, horizon {b['horizon']}, "
             f"{res['precision']}, {res['episodes']} episodes interleaved across planners, {res['threads']} "
             f"thread(s); stable-worldmodel {res['swm']['version']}'s `CEMSolver` and `MPPISolver` loaded from "
             f"its wheel; {machine_line(res['machine'])}. `stop_tol` ends a plan once the sampling mean has "
             "converged (`plan.stop_tol`). `theirs / ours`: their CPU seconds per solved episode over ours, "
             "same method. Goal: at least 2x less than their CEM at equal or better success.", "",
             "| planner | successes | iterations per plan | plan CPU s | CPU s per solved | theirs / ours |",
             "|---|---|---|---|---|---|"]
    for name, v in res["variants"].items():
        per = v["cpu_s_per_solved"]
        lines.append(f"| {name} | {v['successes']} / {v['episodes']} | {v['iterations_mean']:.1f} | "
                     f"{v['plan_cpu_s']:.1f} | {'-' if per is None else f'{per:.3f}'} | "
                     f"{f'{ratio[name]:.2f}' if name in ratio else '-'} |")
    return "\n".join([*lines, "", f"Command: `{_swm_command(res)}`", ""])


def speed_markdown(results_dir: Path, link_dir: str = "benchmarks/results") -> str:
    """Markdown of ``results_dir``'s plan-speed files, ``scaling.json`` and ``swm_compare.json`` ("" when all
    are absent).

    ``plan_speed.json`` (the default model, the width-128 predictor of ``configs/tworoom_pixels.yaml``) and
    ``plan_speed_wide.json`` (width 256, ``configs/tworoom_wide_pixels.yaml``) are rendered, in that order.
    ``link_dir`` is where the results are linked from (relative to the markdown file).
    """
    results_dir = Path(results_dir)
    parts = []
    for name in PLAN_SPEED_FILES:
        plan = load_json(results_dir / name)
        if plan is not None:
            parts.append(plan_speed_markdown(plan, f"{link_dir}/{name}"))
    scaling = load_json(results_dir / "scaling.json")
    if scaling is not None:
        parts.append(scaling_markdown(scaling, link_dir))
    swm = load_json(results_dir / "swm_compare.json")
    if swm is not None:
        parts.append(swm_markdown(swm))
    return "\n".join(parts)
