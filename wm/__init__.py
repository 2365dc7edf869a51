"""``wm``: the Python front door, the ``wm`` command line and the run pipeline (thin glue over
``envs``, ``worldmodel``, ``agents``).

``wm.load_agent(run_dir, **plan_overrides)``, ``wm.load_model(run_dir)``, ``wm.make_env(id_or_run_dir)``
and ``wm.evaluate(agent_or_policy, env, episodes=, seed=)`` (:mod:`wm.api`); the agent contract is
:class:`wm.Agent` / :class:`wm.BaseAgent` (:mod:`agents.protocol`).  Importing ``wm`` loads
neither torch nor MuJoCo: the functions import what they need when called.
"""

from agents.protocol import Agent, BaseAgent
from wm.api import evaluate, load_agent, load_model, load_run_config, make_env

__all__ = ["Agent", "BaseAgent", "evaluate", "load_agent", "load_model", "load_run_config", "make_env"]
