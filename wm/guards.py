"""Checks a verb makes before any work, so that nothing in a run is lost or silently wrong.

Each raises :class:`RunError`, one line naming both sides: a run directory that is a file or
not writable; trained weights that a new ``wm train`` would replace; evaluation seeds that are
data seeds; a dataset, checkpoint or
run whose env, observation or action shape is not the evaluated env's; evaluation results
that a smaller or differently configured ``wm eval`` would replace.  :func:`write_strict_json`
rewrites a results file as strict JSON (non-finite numbers become ``null``).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml

from envs.files import TEMP
from worldmodel.checkpoint import FLAT_FILES, LATEST, STEP_DIR, atomic_write, has_checkpoint

CHECKPOINT_FILES = (*FLAT_FILES, LATEST, "train_metrics.json")
"""The files ``wm train`` writes into ``RUN/checkpoints`` besides its unit directories (``--force``
removes them all first)."""

EVAL_IDENTITY = ("env_id", "obs_type", "episodes", "seed", "planner", "plan", "eval_key")
"""The ``results.json`` fields that make two evaluations the same one (then a rerun may replace it)."""


class RunError(ValueError):
    """A verb refused before doing any work; the message names the path and both sides."""


def _not_a_directory(path: Path) -> Path | None:
    """``path`` itself, or the first of its parents, when it exists and is not a directory."""
    for p in (path, *path.parents):
        if p.exists():
            return None if p.is_dir() else p
    return None


def prepare_run_dir(run_dir: Path, *subdirs: str) -> None:
    """Create ``run_dir`` and check that it, and those of ``subdirs`` that exist, can be written;
    refuse a file in the way."""
    blocker = _not_a_directory(run_dir)
    if blocker is not None:
        where = "it is a file" if blocker == run_dir else f"{blocker} is a file"
        raise RunError(f"{run_dir}: not a directory ({where}); --out must name a run directory")
    for d in (run_dir, *(run_dir / s for s in subdirs if (run_dir / s).is_dir())):
        try:
            d.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".wm-write-test", dir=d)
            os.close(fd)
            os.unlink(probe)
        except OSError as err:
            raise RunError(f"{d}: not writable ({(err.strerror or str(err)).lower()}); nothing was done") from None


def refuse_retrain(ckpt_dir: Path, resume: bool, force: bool) -> None:
    """A run with trained weights is continued (``--resume``) or replaced (``--force``), never silently."""
    found = [name for name in (LATEST, "model.safetensors", "train_state.pt") if (ckpt_dir / name).exists()]
    if (found or has_checkpoint(ckpt_dir)) and not resume and not force:
        raise RunError(f"{ckpt_dir}: already holds a trained model ({', '.join(found)}); "
                       f"--resume continues it, --force trains a new one in its place")


def clear_checkpoints(ckpt_dir: Path) -> None:
    """Remove what an earlier ``wm train`` wrote (units, ``LATEST``, flat files, temp files), so that
    nothing of it sits beside the new model."""
    if not ckpt_dir.is_dir():
        return
    (ckpt_dir / LATEST).unlink(missing_ok=True)  # first: no unit is current any more
    for path in ckpt_dir.iterdir():
        if path.is_dir() and (STEP_DIR.fullmatch(path.name) or TEMP.fullmatch(path.name)):
            shutil.rmtree(path, ignore_errors=True)
        elif path.name in CHECKPOINT_FILES or TEMP.fullmatch(path.name):
            path.unlink(missing_ok=True)


def check_seeds_disjoint(data_seed: int, data_episodes: int, eval_seed: int, eval_episodes: int) -> None:
    """Evaluation episodes (seeds ``eval_seed .. eval_seed + eval_episodes``) are none of the recorded
    ones (``data_seed .. data_seed + data_episodes``); half-open ranges."""
    data_end, eval_end = data_seed + data_episodes, eval_seed + eval_episodes
    if data_episodes > 0 and eval_episodes > 0 and eval_seed < data_end and data_seed < eval_end:
        raise RunError(f"seeds: evaluation seeds [{eval_seed}, {eval_end}) (eval.seed={eval_seed}, "
                       f"eval.episodes={eval_episodes}) overlap the data seeds [{data_seed}, {data_end}) "
                       f"(data.seed={data_seed}, data.episodes={data_episodes}), so agents would be scored on "
                       f"training episodes; set eval.seed >= {data_end} or eval.seed + eval.episodes <= {data_seed}")


def check_dataset_seeds(path: Path, ranges: list[list[int]], seed: int, episodes: int, what: str) -> None:
    """The seeds ``seed .. seed + episodes`` (``what``: evaluation or new data) are none of the
    dataset file's recorded episode seeds (``[first, count]`` rows); half-open ranges."""
    end = seed + episodes
    for first, count in ranges:
        if count > 0 and episodes > 0 and seed < first + count and first < end:
            raise RunError(f"{path}: its episodes were recorded from seeds [{first}, {first + count}), which "
                           f"overlap the {what} seeds [{seed}, {end}); choose seeds outside every recorded "
                           f"range ({', '.join(f'[{a}, {a + n})' for a, n in ranges)})")


def check_shapes(where: str, obs_shape: tuple[int, ...], action_dim: int, env: Any, env_name: str) -> None:
    """Observation shape and action size of data or a checkpoint (``where``) against the env's."""
    env_obs, env_act = tuple(env.observation_space.shape), int(env.action_space.shape[0])
    if tuple(obs_shape) != env_obs or int(action_dim) != env_act:
        raise RunError(f"{where}: observations {tuple(obs_shape)}, actions ({int(action_dim)},); env {env_name} "
                       f"gives observations {env_obs}, actions ({env_act},)")


def env_name(env: dict[str, Any]) -> str:
    return f"{env.get('id')} ({env.get('obs_type')})"


def check_same_env(where: Path, theirs: dict[str, Any] | None, ours: dict[str, Any], what: str) -> None:
    """The env section of a checkpoint or run config (``theirs``) names the evaluated env."""
    if not isinstance(theirs, dict):
        return
    if (theirs.get("id"), theirs.get("obs_type", ours["obs_type"])) != (ours["id"], ours["obs_type"]):
        raise RunError(f"{where}: {what} {env_name(theirs)}, this config asks {env_name(ours)} "
                       f"(use the run's config, or evaluate into another --out)")


def run_config_env(run_dir: Path) -> dict[str, Any] | None:
    """The env section of ``run_dir/config.yaml``, or None when there is none."""
    path = run_dir / "config.yaml"
    if not path.is_file():
        return None
    try:
        return (yaml.safe_load(path.read_text()) or {}).get("env")
    except (OSError, yaml.YAMLError, AttributeError) as err:
        raise RunError(f"{path}: unreadable run config ({str(err).splitlines()[0]})") from None


def _describe(s: dict[str, Any]) -> str:
    n = s.get("episodes")
    return f"{n} episode{'s' if n != 1 else ''} (seed {s.get('seed')}) of {s.get('env_id')}"


def refuse_replacing_results(path: Path, planned: dict[str, Any], force: bool) -> None:
    """``path`` (a results.json) is replaced only by the same evaluation, unless ``force``."""
    if force or not path.is_file():
        return
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        return  # unreadable results are no loss
    differ = [k for k in EVAL_IDENTITY if k in old and k in planned and old[k] != planned[k]]
    if differ:
        named = [k for k in differ if k != "eval_key"] or ["its settings"]
        raise RunError(f"{path}: holds {_describe(old)}; this evaluation is {_describe(planned)} and differs in "
                       f"{', '.join(named)}: --force replaces it, or evaluate into another --out")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def write_strict_json(path: Path) -> None:
    """Rewrite a JSON file whose numbers may be NaN / inf as strict JSON (those become ``null``)."""
    body = _finite(json.loads(path.read_text()))
    atomic_write(path, json.dumps(body, indent=2, allow_nan=False).encode())
