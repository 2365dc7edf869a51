"""The Python front door (``import wm``): load a trained run, evaluate an agent or a policy.

::

    import wm
    agent = wm.load_agent("runs/demo", samples=100)          # the run's latent MPC agent
    result = wm.evaluate(agent, "wm/TwoRoom-v0", episodes=5)  # or any policy(obs) / policy(obs, goal)
    print(result.summary())

A *run* is a directory written by ``wm run`` / ``wm train --out RUN`` (``config.yaml`` and
``checkpoints/``); a checkpoint directory (``checkpoints/`` itself, or a bare ``model.safetensors`` +
``config.yaml``) works too.
Nothing heavy is imported until a function is called, so ``import wm`` stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import gymnasium as gym

    from agents.evaluate import EvalResult
    from agents.protocol import AgentLike, BaseAgent
    from wm.config import RunConfig
    from worldmodel.model import WorldModel

LOADABLE_AGENTS = ("mpc", "sim-latent", "oracle", "oracle-goal", "random", "gcbc")


@dataclass(frozen=True)
class RunEnv:
    """The env a run is evaluated on, as ``wm eval`` makes it."""

    id: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    """Constructor kwargs: observation type, image size, ``env.kwargs`` and ``eval.env_kwargs``."""
    max_steps: int = 0
    """``eval.max_steps`` (0: the env's registered limit)."""
    seed: int = 100_000
    """``eval.seed``: the seed of the first evaluation episode (disjoint from the data seeds)."""

    @classmethod
    def of(cls, cfg: RunConfig) -> RunEnv:
        e = cfg.eval
        return cls(cfg.env.id, {**cfg.env.make_kwargs(), **e.env_kwargs}, e.max_steps, e.seed)


def _locate(run_dir: str | Path) -> tuple[Path, Path | None]:
    """``(checkpoint dir, run config file or None)`` of a run directory or a checkpoint directory."""
    from worldmodel.checkpoint import has_checkpoint

    path = Path(run_dir)
    if has_checkpoint(path / "checkpoints"):
        return path / "checkpoints", path / "config.yaml" if (path / "config.yaml").is_file() else None
    if has_checkpoint(path):
        return path, None
    what = "no such directory" if not path.is_dir() else "no checkpoints/model.safetensors in it"
    raise FileNotFoundError(f"{path}: not a trained run ({what}); train one with `wm run --out {path}`")


def load_run_config(run_dir: str | Path) -> RunConfig:
    """The resolved config of a run (``RUN/config.yaml``); for a bare checkpoint, the defaults with its
    ``model`` and ``env`` sections."""
    from wm.config import from_dict, load_config
    from worldmodel.checkpoint import read_checkpoint_config

    ckpt, config = _locate(run_dir)
    if config is not None:
        return load_config(config)
    saved = read_checkpoint_config(ckpt)
    return from_dict({"model": saved["model"], **({"env": saved["env"]} if "env" in saved else {})})


def load_model(run_dir: str | Path, device: str = "cpu") -> WorldModel:
    """The trained :class:`worldmodel.model.WorldModel` of a run (or checkpoint directory), in eval mode.

    ``model.encode(obs (B, *obs_shape))`` -> ``(B, D)``; ``model.rollout_env_actions(z0, actions (N, H, A))``
    -> ``(N, H, D)`` (numpy or torch, each env action held ``model.frameskip`` env steps).
    """
    from worldmodel.checkpoint import load_model as load_checkpoint

    return load_checkpoint(_locate(run_dir)[0], device)


def _plan_config(cfg: RunConfig, overrides: dict[str, Any]) -> Any:
    """The run's ``plan`` section with ``overrides`` (checked like ``--set plan.KEY=VALUE``)."""
    import dataclasses

    from agents.config import PlanConfig
    from wm.config import build_section

    return build_section(PlanConfig, {**dataclasses.asdict(cfg.plan), **overrides}, "plan")


def _state_scale(cfg: RunConfig, run_dir: Path) -> Any:
    from envs.dataset import state_scale

    data = Path(cfg.data.path) if cfg.data.path else run_dir / "data" / "dataset.h5"
    if not data.is_file():
        raise FileNotFoundError(f"{data}: agent 'oracle-goal' needs the run's dataset (its state scale)")
    return state_scale(data)


def _gcbc_policy(cfg: RunConfig, run_dir: Path, device: str) -> Any:
    """The GCBC policy ``wm eval`` trained and saved in ``RUN/gcbc/`` for the run's dataset as it is now:
    the one of the run's ``eval.gcbc_*`` settings, else the only one there is."""
    from agents.gcbc import load_gcbc
    from agents.gcbc_train import trained_dir, trained_on

    e, data = cfg.eval, Path(cfg.data.path) if cfg.data.path else run_dir / "data" / "dataset.h5"
    hint = f"`wm eval --out {run_dir} --set eval.agents=[gcbc]` trains and saves one"
    if not data.is_file():
        raise FileNotFoundError(f"{data}: agent 'gcbc' needs the run's dataset (its policy is keyed by it); {hint}")
    found = [where for where, _ in trained_on(data, run_dir / "gcbc")]
    own = trained_dir(data, run_dir / "gcbc", e.gcbc_steps, e.gcbc_batch_size, e.gcbc_lr, e.gcbc_hidden,
                      e.gcbc_seed)
    if own in found or len(found) == 1:
        return load_gcbc(own if own in found else found[0], device)
    if not found:
        raise FileNotFoundError(f"{run_dir / 'gcbc'}: no GCBC policy trained on {data} as it is now; {hint}")
    raise ValueError(f"{run_dir / 'gcbc'}: {len(found)} GCBC policies trained on {data}, none with the run's "
                     f"eval.gcbc_* settings ({', '.join(p.name for p in found)}); load one with "
                     f"agents.gcbc.load_gcbc(DIR)")


def load_agent(run_dir: str | Path, agent: str = "mpc", device: str = "cpu", **plan_overrides: Any) -> BaseAgent:
    """A ready agent of a trained run: its latent MPC by default, with the run's ``plan`` section.

    ``plan_overrides`` replace keys of that section (``samples=100, planner="icem"``; an unknown key
    or bad value is a one-line ConfigError).  ``agent`` also takes ``sim-latent``, ``oracle``,
    ``oracle-goal``, ``random`` (the planning agents share the plan) and ``gcbc`` (the policy ``wm eval``
    trained on the run's dataset, saved in ``RUN/gcbc/``; that of the run's ``eval.gcbc_*`` settings
    when there are several).  The agent remembers the
    run's env (``agent.run_env``, a :class:`RunEnv`), which :func:`evaluate` uses by default.
    """
    from agents.factory import MODEL_AGENTS, build_agent
    from envs.registration import make_env as make_registered

    if agent not in LOADABLE_AGENTS:
        raise ValueError(f"load_agent: agent must be one of {LOADABLE_AGENTS}, got {agent!r}")
    cfg = load_run_config(run_dir)
    plan = _plan_config(cfg, plan_overrides)
    model = load_model(run_dir, device) if agent in MODEL_AGENTS else None
    scale = _state_scale(cfg, Path(run_dir)) if agent == "oracle-goal" else None
    policy = _gcbc_policy(cfg, Path(run_dir), device) if agent == "gcbc" else None
    env = make_registered(cfg.env.id, **cfg.env.make_kwargs())
    try:
        built = build_agent(agent, plan, env.action_space, model, cfg.model.frameskip, device, policy, scale,
                            cfg.eval.plan_threads)
    finally:
        env.close()
    built.run_env = RunEnv.of(cfg)  # type: ignore[attr-defined]
    return built


def make_env(env: str | Path, **kwargs: Any) -> gym.Env:
    """A registered env by id (``wm/TwoRoom-v0``), or a run directory's env as ``wm eval`` makes it;
    ``kwargs`` are constructor keyword arguments (over the run's)."""
    from envs.registration import make_env as make_registered

    if Path(env).is_dir():
        run = RunEnv.of(load_run_config(env))
        return make_registered(run.id, **{**run.kwargs, **kwargs})
    return make_registered(str(env), **kwargs)


def _resolve_env(agent: Any, env: Any, env_kwargs: dict | None, max_steps: int | None,
                 seed: int | None) -> tuple[Any, dict | None, int, int]:
    """``(env id or instance, kwargs, max_steps, seed)``: a run's settings apply to its own env id."""
    run: RunEnv | None = getattr(agent, "run_env", None)  # set by load_agent
    if env is None:
        if run is None:
            raise TypeError("evaluate: name the env (an id such as 'wm/TwoRoom-v0', or an env instance); "
                            "only agents from wm.load_agent know their run's env")
        env = run.id
    elif isinstance(env, (str, Path)) and Path(env).is_dir():  # a run directory
        run = RunEnv.of(load_run_config(env))
        env = run.id
    own = run if run is not None and env == run.id else None
    default_seed = run.seed if run is not None else RunEnv("").seed
    seed = default_seed if seed is None else seed
    if not isinstance(env, str):
        return env, env_kwargs, max_steps or 0, seed
    steps = max_steps if max_steps is not None else (own.max_steps if own else 0)
    kwargs = {**(own.kwargs if own else {}), **(env_kwargs or {})}
    return env, kwargs or None, steps, seed


def _check_observations(agent: Any, env: Any, kwargs: dict | None) -> None:
    """A model agent's observation shape against the env's (a pixel model on a state env, say)."""
    shape = getattr(getattr(agent, "model", None), "obs_shape", None)
    if shape is None:
        return
    if isinstance(env, str):
        from envs.registration import make_env as make_registered

        probe = make_registered(env, **(kwargs or {}))
        space = probe.observation_space
        probe.close()
    else:
        space = env.observation_space
    if tuple(space.shape) != tuple(shape):
        raise ValueError(f"evaluate: the agent's model takes observations of shape {tuple(shape)}, the env gives "
                         f"{tuple(space.shape)} (make the env with the run's obs_type: wm.make_env(RUN_DIR))")


def evaluate(agent: AgentLike, env: str | Path | gym.Env | None = None, episodes: int = 10, seed: int | None = None,
             *, max_steps: int | None = None, env_kwargs: dict | None = None, workers: int = 1,
             out_dir: str | Path | None = None, name: str | None = None, progress: bool = True) -> EvalResult:
    """Evaluate an agent or a policy on ``episodes`` episodes; episode ``i`` resets with ``seed + i``.

    ``agent``: from :func:`load_agent`, any object with ``reset(obs, info)`` / ``act(obs)`` (see
    :class:`agents.protocol.Agent`), or a policy ``policy(obs)`` or ``policy(obs, goal)`` returning
    an action ``(A,)``.  ``env``: a registered id, an env instance, a run directory, or None (the
    agent's run env).  For the run's own env id the run's settings apply (observation type, image
    size, ``eval.env_kwargs``, ``eval.max_steps``) unless given; ``seed`` defaults to the run's
    ``eval.seed`` (else the ``eval.seed`` default).  Returns an :class:`agents.evaluate.EvalResult`
    (``.success_rate``, ``.summary()``, ``.episodes``); ``out_dir`` also gets ``results.json``/``.md``.
    """
    from agents.evaluate import evaluate as run_evaluation
    from agents.protocol import HookDefaults, PolicyAgent, as_agent

    env, kwargs, steps, seed = _resolve_env(agent, env, env_kwargs, max_steps, seed)
    _check_observations(agent, env, kwargs)
    wrapped = as_agent(agent)
    if name is None:
        inner = wrapped.inner if isinstance(wrapped, HookDefaults) else wrapped
        name = wrapped.name if isinstance(wrapped, PolicyAgent) else type(inner).__name__
    return run_evaluation(wrapped, env, episodes, seed, env_kwargs=kwargs, max_steps=steps, name=name,
                          progress=progress, workers=workers, out_dir=out_dir)
