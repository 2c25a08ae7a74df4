"""`agents.diagnostics.critic_diagnostics`: checked against a critic whose Q
is known in closed form."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pa_rl import action_optimization as ao
from pa_rl import types
from pa_rl.agents import diagnostics
from pa_rl.agents import networks as networks_lib
from pa_rl.datasets import offline
from pa_rl.networks import base
from pa_rl.networks import registry
from pa_rl.testing import fakes

TARGET = jnp.array([0.5, -0.5])


def _q(params, obs, actions):
  """Two members: -|a - target|^2 + offset (the same for both)."""
  q = -jnp.sum((actions - TARGET) ** 2, axis=-1) + params["offset"]
  return jnp.stack([q, q])


def _setup():
  spec = {"state": types.ObsSpec((3,))}
  episodes = [{"steps": fakes.make_episode(30, observation_spec=spec, action_dim=2, seed=i)}
              for i in range(3)]
  dataset = offline.OfflineDataset.from_episodes(episodes, discount=0.9)
  policy, _ = registry.make_policy_network("gaussian", dataset.shape_meta,
                                           {"hidden_sizes": (8,)})
  critic = base.CriticNetwork(
      init=lambda *a: {"offset": jnp.float32(3.0)}, q_values=_q, loss=None, target_q=None,
      action_grad=None, num_members=2, shape_meta=dataset.shape_meta, kind="fake")
  batch = offline.gather(dataset.data, jnp.arange(4))
  policy_params = policy.init(jax.random.PRNGKey(0), batch.observation)
  return networks_lib.AgentNetworks(policy, critic), policy_params, dataset


def test_calibration_and_action_search_against_a_known_critic():
  networks, policy_params, dataset = _setup()
  search = ao.ActionOptimizationConfig(num_samples=64, top_k=1, num_steps=0)
  found = diagnostics.critic_diagnostics(networks, policy_params, {"offset": 3.0}, dataset,
                                         search, num_states=10_000, batch_size=16)
  assert found["diagnostics/num_states"] == dataset.size  # Every transition once.
  actions = np.asarray(dataset.data["actions"])[np.asarray(dataset.data["obs_index"])]
  mc = np.asarray(dataset.data["mc_return"])
  q_data = -((actions - np.asarray(TARGET)) ** 2).sum(-1) + 3.0
  np.testing.assert_allclose(found["diagnostics/q_data"], q_data.mean(), rtol=1e-5)
  np.testing.assert_allclose(found["diagnostics/mc_return"], mc.mean(), rtol=1e-5)
  np.testing.assert_allclose(found["diagnostics/q_minus_mc"], (q_data - mc).mean(), rtol=1e-5)
  np.testing.assert_allclose(found["diagnostics/q_above_mc_fraction"], (q_data > mc).mean())
  # The best of 64 samples beats the data's (uniform) actions under this Q.
  assert found["diagnostics/q_gain"] > 0.3
  assert found["diagnostics/q_chosen"] > found["diagnostics/q_data"]
  assert len(found["diagnostics/action_abs_diff_chosen_per_dim"]) == 2
  # Acting with the policy alone: its own mode, scored by the same critic.
  plain = diagnostics.critic_diagnostics(networks, policy_params, {"offset": 3.0}, dataset,
                                         None, num_states=50)
  assert plain["diagnostics/num_states"] == 50
  assert plain["diagnostics/q_chosen"] < found["diagnostics/q_chosen"]
  assert "Q - return" in diagnostics.headline(found)


def test_an_agent_without_a_critic_is_refused():
  networks, policy_params, dataset = _setup()
  with pytest.raises(ValueError, match="need an agent with a critic"):
    diagnostics.critic_diagnostics(networks_lib.AgentNetworks(networks.policy), policy_params,
                                   None, dataset)
  with pytest.raises(ValueError, match="num_states"):
    diagnostics.critic_diagnostics(networks, policy_params, {"offset": 3.0}, dataset,
                                   num_states=0)
