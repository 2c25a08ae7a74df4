"""Fused multi-update: equals the same number of single updates, for every
critic and policy objective (imitation, IQL with AWR and with BC, Cal-QL with
the SAC-style policy, PA-RL's Cal-QL with distillation)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pa_rl import types
from pa_rl.agents import update as update_lib
from pa_rl.agents.calql import config as calql_config
from pa_rl.agents.iql import config as iql_config
from pa_rl.agents.parl import config as parl_config
from pa_rl.networks import registry
from pa_rl.testing import tiny

META = types.ShapeMeta(observations={"state": types.ObsSpec((3,))}, action_dim=2)
BATCH, UPDATES = 8, 3


def _batches(num, seed=0):
  keys = jax.random.split(jax.random.PRNGKey(seed), 6)
  shape = (num, BATCH)
  return types.Transition(
      observation={"state": jax.random.normal(keys[0], shape + (3,))},
      action=jax.random.uniform(keys[1], shape + (2,), minval=-1, maxval=1),
      reward=jax.random.normal(keys[2], shape),
      discount=jnp.full(shape, 0.99),
      next_observation={"state": jax.random.normal(keys[3], shape + (3,))},
      mc_return=jax.random.normal(keys[4], shape))


CASES = {
    "bc_gaussian": ("gaussian", None, calql_config.CalQLConfig(),
                    update_lib.Objective("none", "bc")),
    "iql_awr_gaussian": ("gaussian", {"value_head": True}, iql_config.IQLConfig(),
                         update_lib.Objective("iql", "awr")),
    "bc_diffusion": ("diffusion", None, calql_config.CalQLConfig(),
                     update_lib.Objective("none", "bc")),
    "iql_bc_diffusion": ("diffusion", {"value_head": True}, iql_config.IQLConfig(),
                         update_lib.Objective("iql", "bc")),
    "calql_sac": ("gaussian", {}, calql_config.CalQLConfig(num_cql_actions=2),
                  update_lib.Objective("calql", "sac")),
    "parl_calql": ("diffusion", {}, parl_config.PARLConfig(
        num_cql_actions=2, action_optimization=tiny.ACTION_OPTIMIZATION),
                   update_lib.Objective("calql", "distill")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_multi_update_equals_sequential_updates(case):
  policy_type, critic_extra, config, objective = CASES[case]
  policy, _ = registry.make_policy_network(policy_type, META,
                                           tiny.POLICY_CONFIGS[policy_type])
  critic, critic_params = None, None
  batches = _batches(UPDATES)
  obs0 = jax.tree.map(lambda x: x[0], batches.observation)
  if critic_extra is not None:
    critic, _ = registry.make_critic_network(
        "ensemble", META, {**tiny.CRITIC_CONFIGS["ensemble"], **critic_extra})
    critic_params = critic.init(jax.random.PRNGKey(1), obs0, batches.action[0])
  state = update_lib.init_state(policy.init(jax.random.PRNGKey(0), obs0), critic_params,
                                config, jax.random.PRNGKey(2))

  single = jax.jit(update_lib.make_update_step(policy, critic, config, objective))
  sequential = state
  for i in range(UPDATES):
    sequential, last = single(sequential, jax.tree.map(lambda x: x[i], batches))
  multi = jax.jit(update_lib.make_multi_update_step(policy, critic, config, objective,
                                                    UPDATES))
  fused, metrics = multi(state, batches)

  assert int(fused.step) == UPDATES
  for a, b in zip(jax.tree.leaves(sequential), jax.tree.leaves(fused)):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5)
  for name, value in last.items():
    np.testing.assert_allclose(float(metrics[name]), float(value), rtol=1e-4, atol=1e-5,
                               err_msg=name)
  assert float(metrics["train/nonfinite_count"]) == 0.0


def test_multi_update_flags_any_nonfinite_step_and_checks_sizes():
  policy, _ = registry.make_policy_network("gaussian", META, tiny.POLICY_CONFIGS["gaussian"])
  config = calql_config.CalQLConfig()
  objective = update_lib.Objective("none", "bc")
  batches = _batches(UPDATES)
  # The middle update sees a NaN observation: it is skipped and flagged.
  obs = batches.observation["state"].at[1, 0, 0].set(jnp.nan)
  batches = batches._replace(observation={"state": obs})
  state = update_lib.init_state(
      policy.init(jax.random.PRNGKey(0), {"state": obs[0]}), None, config,
      jax.random.PRNGKey(2))
  multi = jax.jit(update_lib.make_multi_update_step(policy, None, config, objective, UPDATES))
  _, metrics = multi(state, batches)
  assert float(metrics["train/nonfinite"]) == 1.0
  assert float(metrics["train/nonfinite_count"]) == 1.0
  assert np.isnan(float(metrics["policy/loss"]))  # The skipped update's metrics.
  with pytest.raises(ValueError, match="num_updates=2"):
    update_lib.make_multi_update_step(policy, None, config, objective, 2)(state, batches)
  with pytest.raises(ValueError, match="num_updates must be >= 1"):
    update_lib.make_multi_update_step(policy, None, config, objective, 0)
