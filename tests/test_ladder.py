"""The control ladder: oracle-goal and sim-latent plan on the true simulator with weaker costs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agents.config import EvalConfig, PlanConfig
from agents.evaluate import evaluate
from agents.factory import build_agent, result_label
from envs.registration import make_env
from worldmodel.config import ModelConfig
from worldmodel.model import WorldModel

PLAN = PlanConfig(samples=48, iterations=4, elites=8, horizon=5)


def identity_like_model() -> WorldModel:
    """A state model whose latent is a fixed random linear map of the normalised state (keeps geometry)."""
    torch.manual_seed(0)
    model = WorldModel(ModelConfig(latent_dim=8, hidden_dim=32, depth=1, frameskip=5), (4,), 2).eval()
    return model


def test_oracle_goal_reaches_the_goal_observation_state():
    env = make_env("wm/TwoRoom-v0")
    scale = np.array([0.5, 0.5, 2.0, 2.0])  # about the random-walk data's std
    agent = build_agent("oracle-goal", PLAN, env.action_space, frameskip=5, state_scale=scale)
    result = evaluate(agent, "wm/TwoRoom-v0", 2, seed=3, env_kwargs={"same_room": True}, max_steps=150,
                      progress=False)
    assert result.success_rate == 1.0, [e.final_distance for e in result.episodes]


def test_oracle_goal_cost_is_the_scaled_state_distance():
    env = make_env("wm/TwoRoom-v0")
    scale = np.array([0.5, 0.5, 2.0, 2.0])
    agent = build_agent("oracle-goal", PLAN, env.action_space, frameskip=5, state_scale=scale)
    agent.attach(env)
    obs, info = env.reset(seed=0)
    agent.reset(obs, info)
    state = env.unwrapped.get_sim_state()
    cost = agent._score(np.stack([state, state])[None])  # (1, H=2, nstate)
    expected = (((obs - info["goal"]) / scale) ** 2).sum() * (1 + PLAN.running_weight)
    assert float(cost[0]) == pytest.approx(expected, rel=1e-5)


def test_oracle_goal_rejects_a_scale_of_the_wrong_size():
    env = make_env("wm/TwoRoom-v0")
    agent = build_agent("oracle-goal", PLAN, env.action_space, frameskip=5, state_scale=np.ones(6))
    agent.attach(env)
    obs, info = env.reset(seed=0)
    with pytest.raises(ValueError, match="scale"):
        agent.reset(obs, info)


def test_sim_latent_scores_true_states_with_the_encoder():
    env = make_env("wm/TwoRoom-v0")
    model = identity_like_model()
    agent = build_agent("sim-latent", PLAN, env.action_space, model)
    agent.attach(env)
    obs, info = env.reset(seed=0)
    agent.reset(obs, info)
    state = env.unwrapped.get_sim_state()
    with torch.no_grad():
        z, zg = model.encode(torch.as_tensor(obs)[None])[0], model.encode(torch.as_tensor(info["goal"])[None])[0]
    cost = agent._score(np.stack([state])[None])
    assert float(cost[0]) == pytest.approx(float((z - zg).pow(2).sum()) * (1 + PLAN.running_weight), rel=1e-4)
    agent.seed(0)
    assert agent.act(obs).shape == (2,)


def test_ladder_agents_need_their_inputs():
    env = make_env("wm/TwoRoom-v0")
    with pytest.raises(ValueError, match="state scale"):
        build_agent("oracle-goal", PLAN, env.action_space, frameskip=5)
    with pytest.raises(ValueError, match="trained model"):
        build_agent("sim-latent", PLAN, env.action_space)


def test_sim_latent_of_a_pixel_model_scores_the_frames_the_rollout_states_render_to():
    env = make_env("wm/TwoRoom-v0", obs_type="pixels", image_size=32)
    torch.manual_seed(0)
    model = WorldModel(ModelConfig(encoder="cnn", channels=4, latent_dim=8, hidden_dim=16, depth=1, frameskip=5),
                       (32, 32, 3), 2).eval()
    agent = build_agent("sim-latent", PlanConfig(samples=8, iterations=1, elites=2, horizon=2), env.action_space, model)
    agent.attach(env)
    obs, info = env.reset(seed=0)
    agent.reset(obs, info)
    here = env.unwrapped.get_sim_state()
    env.unwrapped.step(np.array([1.0, 0.0]))
    there = env.unwrapped.get_sim_state()
    env.unwrapped.set_sim_state(there)  # kinematics of the state itself (a step leaves them one substep old)
    moved = env.unwrapped.render_frame()
    with torch.no_grad():
        z0, z1, zg = model.encode(np.stack([obs, moved, info["goal"]]))
    cost = agent._score(np.stack([[here, there], [there, there]]))  # (N=2, H=2, nstate)
    d0, d1 = float((z0 - zg).pow(2).sum()), float((z1 - zg).pow(2).sum())
    assert float(cost[0]) == pytest.approx(d1 + PLAN.running_weight * (d0 + d1) / 2, rel=1e-4)
    assert float(cost[1]) == pytest.approx(d1 * (1 + PLAN.running_weight), rel=1e-4)
    agent.seed(0)
    assert agent.act(obs).shape == (2,)


def test_labels_and_eval_config():
    assert result_label("oracle-goal", PlanConfig()) == "oracle-goal-cem"
    assert result_label("sim-latent", PlanConfig(planner="mppi")) == "sim-latent-mppi"
    cfg = EvalConfig(agents=("mpc", "oracle"), protocols=("task", "offset"), offset_agents=("mpc", "random"))
    assert cfg.agents_for("offset") == ("mpc", "random") and cfg.all_agents() == ("mpc", "oracle", "random")
    for bad in ({"protocols": ("peer",)}, {"protocols": ()}, {"offset_agents": ("nope",)}, {"offset": 0},
                {"offset_budget": 0}):
        with pytest.raises(ValueError):
            EvalConfig(**bad)


def test_wm_run_writes_both_protocols_and_the_ladder(tmp_path, tiny_overrides):
    import json

    from wm.cli import main

    sets = [x for o in [*tiny_overrides, "eval.agents=[mpc,sim-latent,oracle-goal,oracle,random]",
                        "eval.protocols=[task,offset]", "eval.offset=5", "eval.offset_budget=8"]
            for x in ("--set", o)]
    assert main(["run", "--out", str(tmp_path), "--quiet", *sets]) == 0
    for label in ("mpc-cem", "sim-latent-cem", "oracle-goal-cem", "oracle-cem", "random"):
        body = json.loads((tmp_path / "eval" / label / "results.json").read_text())
        assert body["protocol"] == "task" and body["git_dirty"] in (True, False, None)
    for label in ("mpc-cem", "oracle-goal-cem", "random"):  # the default offset agents
        body = json.loads((tmp_path / "eval" / "offset" / label / "results.json").read_text())
        assert body["protocol"] == "offset" and body["offset"] == 5 and body["steps_mean"] <= 8
    assert not (tmp_path / "eval" / "offset" / "oracle-cem").exists()
    assert "offset protocol" in (tmp_path / "eval" / "offset" / "results.md").read_text()
