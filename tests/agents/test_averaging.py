"""Target-critic Polyak averaging and the policy's EMA, by the numbers."""

import jax
import numpy as np

from pa_rl.agents import update as update_lib
from pa_rl.agents.parl import config as parl_config
from pa_rl.networks import registry
from tests.agents.test_parl_options import META, TINY_AO, _batch


def test_one_update_averages_the_target_critic_and_the_ema_policy():
  config = parl_config.PARLConfig(action_optimization=TINY_AO, num_cql_actions=2, tau=0.25,
                                  ema_decay=0.9)
  policy, _ = registry.make_policy_network(
      "diffusion", META, {"hidden_dim": 8, "num_blocks": 1, "time_dim": 4})
  assert policy.uses_ema
  critic, _ = registry.make_critic_network("ensemble", META,
                                           {"hidden_sizes": (8,), "ensemble_size": 2})
  batch = _batch()
  state = update_lib.init_state(policy.init(jax.random.PRNGKey(0), batch.observation),
                                critic.init(jax.random.PRNGKey(1), batch.observation,
                                            batch.action), config, jax.random.PRNGKey(2))
  # Averages that differ from the online parameters, so each term shows.
  state = state._replace(
      critic_target_params=jax.tree.map(lambda x: x + 1.0, state.critic_params),
      ema_params=jax.tree.map(lambda x: x - 1.0, state.policy_params))
  step = jax.jit(update_lib.make_update_step(policy, critic, config,
                                             update_lib.Objective("calql", "distill")))
  new, _ = step(state, batch)
  for old_t, online, new_t in zip(jax.tree.leaves(state.critic_target_params),
                                  jax.tree.leaves(new.critic_params),
                                  jax.tree.leaves(new.critic_target_params)):
    np.testing.assert_allclose(new_t, 0.75 * np.asarray(old_t) + 0.25 * np.asarray(online),
                               rtol=1e-6, atol=1e-6)
  for old_e, online, new_e in zip(jax.tree.leaves(state.ema_params),
                                  jax.tree.leaves(new.policy_params),
                                  jax.tree.leaves(new.ema_params)):
    np.testing.assert_allclose(new_e, 0.9 * np.asarray(old_e) + 0.1 * np.asarray(online),
                               rtol=1e-6, atol=1e-6)
  # The online parameters did move (else the averages would prove nothing).
  moved = [not np.allclose(a, b) for a, b in zip(jax.tree.leaves(state.critic_params),
                                                   jax.tree.leaves(new.critic_params))]
  assert any(moved)
