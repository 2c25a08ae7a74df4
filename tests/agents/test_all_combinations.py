"""Every agent type x policy type x critic type runs update and act under jit."""

import numpy as np
import pytest

import pa_rl as ljx
from pa_rl.testing import fakes
from pa_rl.testing import tiny
from pa_rl import types

SPEC = {"state": types.ObsSpec((3,)), "goal": types.ObsSpec((2,))}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
  path = str(tmp_path_factory.mktemp("data") / "ds")
  fakes.write_dataset(path, (6, 6, 6), observation_spec=SPEC, action_dim=2)
  return ljx.OfflineDataset.load_from_path(path, normalize=True, seed=0)


def _config(agent_type):
  config = dict(tiny.AGENT_CONFIG)
  if agent_type in ("imitation",):
    config = {"batch_size": 8}
  elif agent_type in ("iql", "calql", "sac"):
    config.pop("action_optimization")
    if agent_type != "calql":
      config.pop("num_cql_actions")
  return config


CASES = [(a, p, c) for a in ("imitation", "offline_rl", "actor_critic", "iql", "calql")
         for p in ("gaussian", "diffusion", "autoregressive", "flow")
         for c in ("ensemble", "distributional")
         if not (a == "imitation" and c == "distributional")
         and not (a == "calql" and p != "gaussian")]
CASES += [("diffusion_rl", "diffusion", c) for c in ("ensemble", "distributional")]
CASES += [("offline_rl", "gaussian", "ensemble-iql")]
CASES += [("sac", "gaussian", c) for c in ("ensemble", "distributional")]


@pytest.mark.parametrize("agent_type, policy_type, critic_type", CASES)
def test_update_and_act(dataset, agent_type, policy_type, critic_type):
  meta = dataset.shape_meta
  policy = ljx.create_policy_model(policy_type, 0, meta, tiny.POLICY_CONFIGS[policy_type])
  config = _config(agent_type)
  critic_config = dict(tiny.CRITIC_CONFIGS[critic_type.split("-")[0]])
  if agent_type == "iql" or critic_type.endswith("iql"):
    critic_config["value_head"] = True
    if agent_type != "iql":
      config["critic_objective"] = "iql"
  critic = ljx.create_q_critic(critic_type.split("-")[0], 1, meta, critic_config)
  agent = ljx.create_agent(agent_type, policy, critic, 2, config)
  dataset_, batch = dataset.sample(8)
  info = agent.update(batch)
  new = info["agent"]
  assert new.step == 1 and agent.step == 0
  assert np.isfinite(info["policy/loss"]) and info["train/nonfinite"] == 0.0
  if agent_type != "imitation":
    assert np.isfinite(info["critic/loss"])
  # Parameters changed.
  before = np.concatenate([np.ravel(x) for x in
                           __import__("jax").tree.leaves(agent.state.policy_params)])
  after = np.concatenate([np.ravel(x) for x in
                          __import__("jax").tree.leaves(new.state.policy_params)])
  assert not np.allclose(before, after)
  obs = {"state": np.ones(3, np.float32), "goal": np.zeros(2, np.float32)}
  action = new.act(obs, evaluation=True)
  assert action.shape == (2,) and np.all(np.isfinite(action))
  norm = meta.normalizer
  assert np.all(action >= norm.action_low - 1e-5) and np.all(action <= norm.action_high + 1e-5)
  batch_obs = {k: np.stack([v] * 5) for k, v in obs.items()}
  assert new.act(batch_obs, evaluation=False).shape == (5, 2)
  np.testing.assert_array_equal(new.act(obs), new.act(obs))  # evaluation is deterministic
  if agent_type != "imitation":
    assert new.act(obs, guidance_scale=2.0).shape == (2,)


@pytest.mark.parametrize("agent_type", ["calql"])
def test_chunked_calql_critic_step_equals_one_pass(dataset, monkeypatch, agent_type):
  """Cal-QL's critic loss runs in chunks of the batch when its rows are many;
  forced into 4 chunks, the update matches one pass over the batch."""
  import jax  # pylint: disable=g-import-not-at-top
  from pa_rl.agents import functional  # pylint: disable=g-import-not-at-top
  from pa_rl.agents import update as update_lib  # pylint: disable=g-import-not-at-top
  meta = dataset.shape_meta
  _, batch = dataset.sample(8)

  def one_update():
    functional.clear_cache()
    policy = ljx.create_policy_model("gaussian", 0, meta, tiny.POLICY_CONFIGS["gaussian"])
    critic = ljx.create_q_critic("ensemble", 1, meta, tiny.CRITIC_CONFIGS["ensemble"])
    agent = ljx.create_agent(agent_type, policy, critic, 2, _config(agent_type))
    info = agent.update(batch)
    moved = [not np.allclose(a, b) for a, b in zip(
        jax.tree.leaves(agent.state.critic_params),
        jax.tree.leaves(info["agent"].state.critic_params))]
    assert any(moved)  # The critic took a real step.
    return info

  whole = one_update()
  config = _config(agent_type)
  rows = tiny.CRITIC_CONFIGS["ensemble"]["ensemble_size"] * (3 * config["num_cql_actions"] + 2)
  assert update_lib._num_chunks(8, rows) == 1
  monkeypatch.setattr(update_lib, "_ROWS_PER_CHUNK", 2 * rows)
  assert update_lib._num_chunks(8, rows) == 4
  chunked = one_update()
  assert float(chunked["critic/loss"]) == pytest.approx(float(whole["critic/loss"]), rel=1e-5)
  assert float(chunked["critic/cql_gap"]) == pytest.approx(float(whole["critic/cql_gap"]),
                                                           rel=1e-5, abs=1e-6)
  for a, b in zip(jax.tree.leaves(whole["agent"].state.critic_params),
                  jax.tree.leaves(chunked["agent"].state.critic_params)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
