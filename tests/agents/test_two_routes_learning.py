"""Learning on the built-in two-routes task (the issue's headline results).

* Mixed-quality data (20% expert, 30% noisy expert, 50% random episodes):
  PA-RL with a diffusion policy solves the task, and so does PA-RL with a
  flow-matching policy; diffusion BC and Gaussian BC imitate the noise and fail.
* Expert data with both routes: diffusion BC and flow BC keep both routes and succeed;
  Gaussian BC averages them into the obstacle whenever the start does not
  already lean to one side.
* Online fine-tuning from an early offline PA-RL checkpoint raises success.

Small networks and few updates keep this to a few minutes on two CPU cores;
`benchmarks/` holds the longer runs.
"""

import numpy as np
import pytest

import pa_rl as ljx
from pa_rl import environments
from pa_rl.agents import evaluation
from pa_rl.agents import presets
from pa_rl.datasets import collection


DIFFUSION, FLOW, GAUSSIAN, CRITIC, PARL = (presets.DIFFUSION, presets.FLOW, presets.GAUSSIAN,
                                           presets.CRITIC, presets.PARL)
EVAL_EPISODES = 30


def _train(agent, dataset, num_steps):
  for _ in range(num_steps):
    dataset, batch = dataset.sample(256)
    state, _ = agent.functions.update(agent.state, batch)
    agent = agent.replace(state=state)
  return agent, dataset


def _success(agent, seed=100):
  env = environments.make_environment("two_routes", seed=seed)
  return evaluation.evaluate(evaluation.make_actor(agent, seed=0), env, EVAL_EPISODES)["success"]


def _load(path):
  return ljx.OfflineDataset.load_from_path(path, normalize=True, seed=0,
                                           discount=presets.TWO_ROUTES_DISCOUNT)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
  path = str(tmp_path_factory.mktemp("data") / "mixed")
  stats = collection.collect("two_routes", path, seed=0, **presets.TWO_ROUTES_DATA)
  assert 0.2 < stats["success_rate"] < 0.6  # genuinely mixed quality
  return _load(path)


@pytest.fixture(scope="module")
def results(mixed):
  """Trains every method once; the tests below read the numbers."""
  out = {}
  meta = mixed.shape_meta
  gbc = ljx.create_agent("imitation", ljx.create_policy_model("gaussian", 0, meta, GAUSSIAN),
                         None, 2, {"batch_size": 256})
  out["gaussian_bc"] = _success(_train(gbc, mixed, 1500)[0])
  dbc = ljx.create_agent("imitation", ljx.create_policy_model("diffusion", 0, meta, DIFFUSION),
                         None, 2, {"batch_size": 256})
  out["diffusion_bc"] = _success(_train(dbc, mixed, 2000)[0])
  parl = ljx.create_agent("diffusion_rl",
                          ljx.create_policy_model("diffusion", 0, meta, DIFFUSION),
                          ljx.create_q_critic("ensemble", 1, meta, CRITIC), 2, PARL)
  early, data = _train(parl, mixed, 2500)
  out["parl_early"] = _success(early)
  out["early_agent"] = early
  out["parl"] = _success(_train(early, data, 1500)[0])
  print({k: v for k, v in out.items() if k != "early_agent"})
  return out


def test_parl_beats_imitation_on_mixed_data(results):
  assert results["parl"] >= 0.8
  assert results["parl"] >= results["diffusion_bc"] + 0.5
  assert results["parl"] >= results["gaussian_bc"] + 0.5


def test_parl_with_a_flow_policy_solves_mixed_data(results, mixed):
  meta = mixed.shape_meta
  parl = ljx.create_agent("offline_rl", ljx.create_policy_model("flow", 0, meta, FLOW),
                          ljx.create_q_critic("ensemble", 1, meta, CRITIC), 2, PARL)
  parl, _ = _train(parl, mixed, 4000)
  env = environments.make_environment("two_routes", seed=100)
  actor = evaluation.make_actor(parl, seed=0)
  successes, routes = [], []
  for _ in range(EVAL_EPISODES):
    successes.append(evaluation.run_episode(env, actor)["success"])
    routes.append(env.route)
  print({"parl_flow": np.mean(successes), "routes": routes})
  assert np.mean(successes) >= 0.8
  assert np.mean(successes) >= results["diffusion_bc"] + 0.5
  assert np.mean(successes) >= results["gaussian_bc"] + 0.5
  assert routes.count("left") >= 1 and routes.count("right") >= 1


@pytest.fixture(scope="module")
def expert(tmp_path_factory):
  """Expert data with both routes, and Gaussian BC's success on it (trained once)."""
  path = str(tmp_path_factory.mktemp("data") / "expert")
  collection.collect("two_routes", path, policy="expert", num_episodes=100, seed=1)
  data = _load(path)
  gbc = ljx.create_agent("imitation",
                         ljx.create_policy_model("gaussian", 0, data.shape_meta, GAUSSIAN),
                         None, 2, {"batch_size": 256})
  return data, _success(_train(gbc, data, 1500)[0])


@pytest.mark.parametrize("policy_type", ["diffusion", "flow"])
def test_expressive_bc_keeps_both_routes_where_gaussian_bc_crashes(expert, policy_type):
  data, gaussian = expert
  meta = data.shape_meta
  config = {"diffusion": DIFFUSION, "flow": FLOW}[policy_type]
  dbc = ljx.create_agent("imitation", ljx.create_policy_model(policy_type, 0, meta, config),
                         None, 2, {"batch_size": 256})
  dbc, _ = _train(dbc, data, 1500)
  env = environments.make_environment("two_routes", seed=5)
  actor = evaluation.make_actor(dbc, seed=0, evaluation=False)
  routes, successes = [], []
  for _ in range(EVAL_EPISODES):
    successes.append(evaluation.run_episode(env, actor)["success"])
    routes.append(env.route)
  print({"gaussian_bc": gaussian, f"{policy_type}_bc": np.mean(successes), "routes": routes})
  # The Gaussian commits to a side only when the start noise breaks the tie;
  # near x = 0 it averages the routes into the obstacle.
  assert np.mean(successes) >= 0.8
  assert np.mean(successes) >= gaussian + 0.3
  assert routes.count("left") >= 5 and routes.count("right") >= 5


def test_online_finetuning_raises_success(results, mixed):
  early = results["early_agent"]
  env = environments.make_environment("two_routes", seed=7)
  tuned, _ = evaluation.finetune_online(
      early, env, mixed, num_episodes=40, seed=0,
      config={**PARL, "policy_lr": 1e-4, "online_fraction": 0.5})
  assert isinstance(tuned, ljx.ActorCriticAgent)
  after = _success(tuned)
  print({"before": results["parl_early"], "after": after})
  assert after >= results["parl_early"] + 0.3
