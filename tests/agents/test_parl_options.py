"""PA-RL's cost options: separate action optimizations for the TD target and
for distillation, distillation every m updates, and imitating the data
offline (the reference's offline phase); online fine-tuning distills again."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pa_rl import action_optimization as ao
from pa_rl import types
from pa_rl.agents import update as update_lib
from pa_rl.agents.parl import config as parl_config
from pa_rl.networks import registry
from pa_rl.runners import online

META = types.ShapeMeta(observations={"state": types.ObsSpec((3,))}, action_dim=2)
BATCH = 8
TINY_AO = {"num_samples": 4, "top_k": 2, "num_steps": 1, "step_size": 0.1}


def _batch(seed=0):
  keys = jax.random.split(jax.random.PRNGKey(seed), 5)
  return types.Transition(
      observation={"state": jax.random.normal(keys[0], (BATCH, 3))},
      action=jax.random.uniform(keys[1], (BATCH, 2), minval=-1, maxval=1),
      reward=jax.random.normal(keys[2], (BATCH,)),
      discount=jnp.full((BATCH,), 0.99),
      next_observation={"state": jax.random.normal(keys[3], (BATCH, 3))},
      mc_return=jax.random.normal(keys[4], (BATCH,)))


def _setup(config, policy_type="gaussian"):
  policy, _ = registry.make_policy_network(policy_type, META, {"hidden_sizes": (8,)}
                                           if policy_type == "gaussian" else
                                           {"hidden_dim": 8, "num_blocks": 1, "time_dim": 4})
  critic, _ = registry.make_critic_network("ensemble", META,
                                           {"hidden_sizes": (8,), "ensemble_size": 2})
  batch = _batch()
  state = update_lib.init_state(policy.init(jax.random.PRNGKey(0), batch.observation),
                                critic.init(jax.random.PRNGKey(1), batch.observation,
                                            batch.action),
                                config, jax.random.PRNGKey(2))
  step = jax.jit(update_lib.make_update_step(
      policy, critic, config, update_lib.Objective(config.critic_objective, "distill")))
  return policy, critic, state, step, batch


def _changed(a, b) -> bool:
  return any(bool(jnp.any(x != y)) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def test_config_resolves_the_separate_action_optimizations():
  config = parl_config.PARLConfig(action_optimization=TINY_AO,
                                  target_action_optimization={"num_samples": 2, "top_k": 1})
  assert config.target_ao == ao.ActionOptimizationConfig(num_samples=2, top_k=1)
  assert config.distill_ao is config.action_optimization  # None: acting's
  assert config.distill_ao.num_samples == 4
  with pytest.raises(ValueError, match="distill_every"):
    parl_config.PARLConfig(distill_every=0)
  with pytest.raises(ValueError, match="distill_source"):
    parl_config.PARLConfig(distill_source="argmax")
  with pytest.raises(TypeError, match="distill_action_optimization"):
    parl_config.PARLConfig(distill_action_optimization=3)
  with pytest.raises(ValueError, match="top_k"):
    parl_config.PARLConfig(target_action_optimization={"num_samples": 2, "top_k": 3})


def test_distill_every_m_updates_the_policy_on_every_mth_update_only():
  config = parl_config.PARLConfig(action_optimization=TINY_AO, num_cql_actions=2,
                                  distill_every=3)
  _, _, state, step, batch = _setup(config)
  updated = []
  for _ in range(6):
    before_policy, before_critic = state.policy_params, state.critic_params
    state, metrics = step(state, batch)
    distilled = _changed(before_policy, state.policy_params)
    updated.append(distilled)
    assert _changed(before_critic, state.critic_params)  # The critic learns every update.
    # Skipped updates report no policy numbers rather than stale or zero ones.
    assert np.isnan(float(metrics["policy/loss"])) != distilled
    assert float(metrics["train/nonfinite"]) == 0.0
  assert updated == [False, False, True, False, False, True]  # Steps 3 and 6.


def _recording(policy):
  """``policy`` whose loss records (through a host callback, under jit) the
  actions and weights it is called with."""
  calls = []

  def loss(params, key, obs, actions, weights=None):
    if weights is None:
      jax.debug.callback(lambda a: calls.append({"actions": np.asarray(a), "weights": None}),
                         actions)
    else:
      jax.debug.callback(lambda a, w: calls.append({"actions": np.asarray(a),
                                                    "weights": np.asarray(w)}),
                         actions, weights)
    return policy.loss(params, key, obs, actions, weights)
  return dataclasses.replace(policy, loss=loss), calls


def test_distill_source_dataset_is_the_policy_own_loss_on_the_data():
  config = parl_config.PARLConfig(action_optimization=TINY_AO, num_cql_actions=2,
                                  distill_source="dataset")
  policy, critic, state, _, batch = _setup(config)
  policy, calls = _recording(policy)
  step = jax.jit(update_lib.make_update_step(
      policy, critic, config, update_lib.Objective(config.critic_objective, "distill")))
  _, metrics = jax.block_until_ready(step(state, batch))
  # The policy phase is behaviour cloning: its own loss on the data's actions, unweighted.
  assert len(calls) == 1
  np.testing.assert_array_equal(calls[0]["actions"], batch.action)
  assert calls[0]["weights"] is None
  assert not any(k.startswith("action_opt/") for k in metrics)  # No distillation targets.
  assert "critic/target_action_opt/q_selected" not in metrics
  # The critic still bootstraps from optimized actions.
  assert "target_action_opt/q_selected" in metrics


def test_the_td_target_uses_its_own_action_optimization():
  base = parl_config.PARLConfig(action_optimization=TINY_AO, num_cql_actions=2)
  cheap = dataclasses.replace(base, target_action_optimization=ao.ActionOptimizationConfig(
      num_samples=1, top_k=1, num_steps=0))
  _, _, state, step_base, batch = _setup(base)
  _, _, _, step_cheap, _ = _setup(cheap)
  _, m_base = step_base(state, batch)
  _, m_cheap = step_cheap(state, batch)
  # One sample and no ascent: nothing to gain; the default optimizes the target.
  assert float(m_cheap["target_action_opt/global_gain"]) == 0.0
  assert float(m_cheap["target_action_opt/local_gain"]) == 0.0
  assert float(m_base["target_action_opt/global_gain"]) > 0.0
  # Distillation (acting's settings) is the same in both.
  assert float(m_cheap["action_opt/global_gain"]) > 0.0


def test_online_fine_tuning_distills_again():
  offline = parl_config.PARLConfig(distill_source="dataset", distill_every=2)
  config = online.online_config(offline, {})
  assert config.distill_source == "optimized" and config.distill_every == 2
  assert online.online_config(offline, {"distill_source": "dataset"}).distill_source == "dataset"


def _iql_setup(config):
  """A Gaussian policy and a two-member critic with a V head (IQL's)."""
  policy, _ = registry.make_policy_network("gaussian", META, {"hidden_sizes": (8,)})
  critic, _ = registry.make_critic_network(
      "ensemble", META, {"hidden_sizes": (8,), "ensemble_size": 2, "value_head": True})
  batch = _batch()
  state = update_lib.init_state(
      policy.init(jax.random.PRNGKey(0), batch.observation),
      critic.init(jax.random.PRNGKey(1), batch.observation, batch.action), config,
      jax.random.PRNGKey(2))
  return policy, critic, state, batch


def test_advantage_weighted_distillation_weighs_the_data_by_iql_advantages():
  with pytest.raises(ValueError, match="needs critic_objective='iql'"):
    parl_config.PARLConfig(distill_source="advantage_weighted")
  config = parl_config.PARLConfig(critic_objective="iql", distill_source="advantage_weighted",
                                  awr_temperature=5.0, action_optimization=TINY_AO)
  policy, critic, state, batch = _iql_setup(config)
  recording, calls = _recording(policy)
  step = jax.jit(update_lib.make_update_step(recording, critic, config,
                                             update_lib.Objective("iql", "distill")))
  new, metrics = jax.block_until_ready(step(state, batch))
  # The data's actions, weighted by exp(5 (Q - V)) (at most 100) from the freshly
  # updated critic, as in IQL's own update. Two members, a target subset of two:
  # the target Q is the members' min, whatever the key.
  q = np.min(np.asarray(critic.q_values(new.critic_target_params, batch.observation,
                                        batch.action)), axis=0)
  v = np.asarray(critic.value(new.critic_params, batch.observation))
  weights = np.minimum(np.exp(5.0 * (q - v)), 100.0)
  assert len(calls) == 1
  np.testing.assert_array_equal(calls[0]["actions"], batch.action)
  np.testing.assert_allclose(calls[0]["weights"], weights, rtol=1e-5)
  np.testing.assert_allclose(float(metrics["policy/awr_weight"]), weights.mean(), rtol=1e-5)
  assert float(np.std(weights)) > 0  # Not uniform: a plain BC loss would differ.


@pytest.mark.parametrize("bootstrap", ["value", "action_optimization"])
def test_iql_bootstraps_from_v_or_from_the_optimized_action(monkeypatch, bootstrap):
  from pa_rl.agents import losses  # pylint: disable=g-import-not-at-top
  config = parl_config.PARLConfig(critic_objective="iql", iql_bootstrap=bootstrap,
                                  action_optimization=TINY_AO)
  policy, critic, state, batch = _iql_setup(config)
  seen = {"next_value": [], "optimized": []}
  real_loss, real_optimize = losses.iql_critic_loss, ao.optimize_actions

  def iql_critic_loss(*args, **kwargs):
    next_value = args[-1] if len(args) > 6 else kwargs.get("next_value")
    if next_value is None:
      seen["next_value"].append(None)
    else:
      jax.debug.callback(lambda v: seen["next_value"].append(np.asarray(v)), next_value)
    return real_loss(*args, **kwargs)

  def optimize_actions(*args, **kwargs):
    actions, metrics = real_optimize(*args, **kwargs)
    jax.debug.callback(lambda o, a: seen["optimized"].append((np.asarray(o), np.asarray(a))),
                       args[5]["state"], actions)
    return actions, metrics

  monkeypatch.setattr(losses, "iql_critic_loss", iql_critic_loss)
  monkeypatch.setattr(ao, "optimize_actions", optimize_actions)
  step = jax.jit(update_lib.make_update_step(policy, critic, config,
                                             update_lib.Objective("iql", "distill")))
  jax.block_until_ready(step(state, batch))
  (next_value,) = seen["next_value"]
  if bootstrap == "value":  # r + gamma V(s'): the loss computes V itself.
    assert next_value is None
    return
  # r + gamma Q_target(s', a*), a* the action optimization's argmax at s'.
  at_next = [a for obs, a in seen["optimized"]
             if np.array_equal(obs, batch.next_observation["state"])]
  assert len(at_next) == 1
  expected = np.min(np.asarray(critic.q_values(state.critic_target_params,
                                               batch.next_observation, at_next[0])), axis=0)
  np.testing.assert_allclose(np.asarray(next_value), expected, rtol=1e-5)
  v_next = np.asarray(critic.value(state.critic_params, batch.next_observation))
  assert not np.allclose(np.asarray(next_value), v_next)
