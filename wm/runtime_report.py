"""Markdown of the process-default benchmarks for BENCHMARKS.md: the allocator and the thread settings.

``train_alloc.json`` (``python -m benchmarks.train_alloc``): pixel training samples/s per batch size
with glibc's default allocator and with ``wm``'s (freed memory kept), measured alternately in one run.
``threads_contention.json`` (``python -m benchmarks.threads_contention``): ``wm train`` and ``wm eval``
with torch's defaults and with ``wm``'s, alone and beside a competing process.  Nothing is typed by hand.
"""

from __future__ import annotations

from pathlib import Path

from wm.speed_report import load_json, machine_line

ALLOC_GOAL = 1.8  # batch 256 vs glibc's default (issue goal), and not below batch 16
SHARED_GOAL = 2.0  # slowdown beside a competing process, at most


def alloc_markdown(res: dict) -> list[str]:
    """Samples/s per batch with each allocator (and, where measured, ``wm``'s with the encoder in bf16), the
    ratios, page faults per sample and peak memory."""
    sys_, ret, batches = res["system"], res["retain"], res["batch_sizes"]
    bf16 = res.get("retain_bf16")
    lines = ["## Pixel training and the allocator", "",
             f"Training the pixel model of `{res['config']}` on synthetic episodes, one thread, {res['steps']} timed "
             f"steps per measurement, each setting in a fresh process, alternated {res['repeats']} times (median); "
             f"{machine_line(res['machine'])}. `glibc` is the system default, `wm` the setting `wm` applies at start "
             "(freed memory kept for reuse; `WM_ALLOCATOR=system` turns it off)"
             + (", `wm + bf16` the same with `train.precision: bf16` (the encoder under bfloat16 autocast; "
                "opt-in)." if bf16 else "."), "",
             "| batch | samples/s glibc | samples/s wm | wm / glibc | "
             + ("samples/s wm + bf16 | wm + bf16 / glibc | " if bf16 else "")
             + "page faults per sample (glibc, wm) | peak MiB (glibc, wm) |",
             "|---|---|---|---|" + ("---|---|" if bf16 else "") + "---|---|"]
    for i, b in enumerate(batches):
        extra = f"{bf16['samples_per_s'][i]:.0f} | {res['ratio_bf16'][i]:.2f}x | " if bf16 else ""
        lines.append(f"| {b} | {sys_['samples_per_s'][i]:.0f} | {ret['samples_per_s'][i]:.0f} | "
                     f"{res['ratio'][i]:.2f}x | {extra}"
                     f"{sys_['faults_per_sample'][i]:.0f}, {ret['faults_per_sample'][i]:.0f} | "
                     f"{sys_['peak_mib'][i]:.0f}, {ret['peak_mib'][i]:.0f} |")
    lines += ["", _alloc_goal("`wm` (the default)", ret, res["ratio"], batches)]
    if bf16:
        lines.append(_alloc_goal("`wm + bf16` (opt-in)", bf16, res["ratio_bf16"], batches))
    return [*lines, "", "Command: `python -m benchmarks.train_alloc`", ""]


def _alloc_goal(label: str, mode: dict, ratio: list[float], batches: list[int]) -> str:
    """The goal line of one setting: batch ``batches[-1]`` vs glibc's and vs batch ``batches[0]``."""
    last, first = mode["samples_per_s"][-1], mode["samples_per_s"][0]
    met = ratio[-1] >= ALLOC_GOAL and last >= first
    return (f"Goal at batch {batches[-1]}, {label}: >= {ALLOC_GOAL}x glibc's and >= batch {batches[0]}'s samples/s: "
            f"{ratio[-1]:.2f}x, {last:.0f} vs {first:.0f}: {'met' if met else 'NOT met'}.")


def contention_markdown(res: dict) -> list[str]:
    """Train steps/s and eval seconds, torch's defaults vs ``wm``'s, alone and beside a competing process."""
    names = list(res["alone"]["train_steps_per_s"])
    machine = f"; {machine_line(res['machine'])}" if "machine" in res else ""
    lines = ["## Threads on a shared machine", "",
             f"`wm train` ({res['steps']} steps) and `wm eval` ({res['episodes']} episodes) of `{res['config']}` on "
             f"{res['cpus']} CPUs, alone and beside a process that keeps one core busy, launchers alternated "
             f"{res['repeats']} times (median){machine}. `torch defaults` is the CLI without `wm`'s process settings "
             "(torch's thread count, OpenMP's spinning wait), `wm defaults` the `wm` command.", "",
             "| measure | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for case in ("alone", "competing"):
        steps, secs = res[case]["train_steps_per_s"], res[case]["eval_s"]
        lines.append(f"| train steps/s, {case} | " + " | ".join(f"{steps[n]:.1f}" for n in names) + " |")
        lines.append(f"| eval s, {case} | " + " | ".join(f"{secs[n]:.1f}" for n in names) + " |")
    wm = names[-1]
    train = res["alone"]["train_steps_per_s"][wm] / res["competing"]["train_steps_per_s"][wm]
    ev = res["competing"]["eval_s"][wm] / res["alone"]["eval_s"][wm]
    met = max(train, ev) <= SHARED_GOAL
    lines += ["", f"`{wm}` beside the competing process: training {train:.2f}x and evaluation {ev:.2f}x its time alone "
              f"(goal: within {SHARED_GOAL:.0f}x): {'met' if met else 'NOT met'}.", "",
              "Command: `python -m benchmarks.threads_contention`", ""]
    return lines


def runtime_markdown(results_dir: Path) -> str:
    """Both sections from ``results_dir``, each where its file exists ("" when neither does)."""
    lines: list[str] = []
    alloc = load_json(Path(results_dir) / "train_alloc.json")
    if alloc is not None:
        lines += alloc_markdown(alloc)
    contention = load_json(Path(results_dir) / "threads_contention.json")
    if contention is not None:
        lines += contention_markdown(contention)
    return "\n".join(lines)
