"""Tests of the seed-facing policy and critic modules."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pa_rl import core
from pa_rl import models
from pa_rl import types
from pa_rl.networks import configs

META_DICT = {"observations": {"state": {"shape": [4], "type": "low_dim"}},
             "action_dim": 2, "action_horizon": 3}
TINY = {
    "gaussian": {"hidden_sizes": [16]},
    "diffusion": {"hidden_dim": 16, "num_blocks": 1, "time_dim": 8},
    "autoregressive": {"num_bins": 16, "num_layers": 1, "embed_dim": 16,
                       "num_heads": 2},
}
POLICY_CLASSES = {"gaussian": models.GaussianPolicy,
                  "diffusion": models.DiffusionPolicy,
                  "autoregressive": models.AutoregressivePolicy}


@pytest.mark.parametrize("policy_type", sorted(TINY))
def test_create_policy_model(policy_type):
  policy = models.create_policy_model(policy_type, 0, META_DICT, TINY[policy_type])
  assert type(policy) is POLICY_CLASSES[policy_type]
  assert isinstance(policy, (models.PolicyModel, core.PAModule))
  assert isinstance(policy.shape_meta, types.ShapeMeta)
  assert policy.kind == policy_type
  # The partial dict overrides some fields; the rest keep their defaults.
  assert policy.config == dataclasses.replace(
      type(policy.config)(), **{k: tuple(v) if isinstance(v, list) else v
                                for k, v in TINY[policy_type].items()})
  obs = {"state": jnp.zeros((5, 4))}
  actions = policy.sample(jax.random.PRNGKey(0), obs, 3)
  assert actions.shape == (5, 3, 3, 2)
  loss, metrics = policy.loss(jax.random.PRNGKey(1), obs, actions[:, 0])
  assert np.isfinite(float(loss)) and "loss" in metrics
  # Same seed, same params; a new module from `replace` keeps the network.
  again = models.create_policy_model(policy_type, 0, META_DICT, TINY[policy_type])
  jax.tree.map(np.testing.assert_array_equal, policy.params, again.params)
  zeroed = policy.replace(params=jax.tree.map(jnp.zeros_like, policy.params))
  assert zeroed.network is policy.network and type(zeroed) is type(policy)
  with pytest.raises(dataclasses.FrozenInstanceError):
    policy.params = None


def test_log_prob_only_for_the_gaussian():
  gaussian = models.create_policy_model("gaussian", 0, META_DICT, TINY["gaussian"])
  obs = {"state": jnp.zeros((2, 4))}
  assert gaussian.log_prob(obs, jnp.zeros((2, 3, 2))).shape == (2,)
  diffusion = models.create_policy_model("diffusion", 0, META_DICT,
                                         TINY["diffusion"])
  assert diffusion.uses_ema
  with pytest.raises(ValueError, match="diffusion"):
    diffusion.log_prob(obs, jnp.zeros((2, 3, 2)))


def test_config_dataclass_and_errors():
  config = configs.DiffusionPolicyConfig(hidden_dim=16, num_blocks=1)
  policy = models.create_policy_model("diffusion", 3, types.as_shape_meta(META_DICT),
                                      config)
  assert policy.config is config
  with pytest.raises(ValueError, match=(
      r"^policy_type='difusion' is unknown; choose one of: "
      r"autoregressive, diffusion, flow, gaussian$")):
    models.create_policy_model("difusion", 0, META_DICT)
  with pytest.raises(ValueError, match=r"unknown keys \['num_step'\].*valid keys: "
                     r".*num_diffusion_steps"):
    models.create_policy_model("diffusion", 0, META_DICT, {"num_step": 3})
  with pytest.raises(ValueError, match="num_diffusion_steps must be an int >= 1"):
    models.create_policy_model("diffusion", 0, META_DICT, {"num_diffusion_steps": 0})
  with pytest.raises(ValueError, match=(
      r"critic_type='ensembl' is unknown; choose one of: distributional, ensemble")):
    models.create_q_critic("ensembl", 0, META_DICT)
  with pytest.raises(ValueError, match=r"unknown keys \['ensemble'\]"):
    models.create_q_critic("ensemble", 0, META_DICT, {"ensemble": 3})


@pytest.mark.parametrize("critic_type,cls", [
    ("ensemble", models.EnsembleQCritic),
    ("distributional", models.DistributionalQCritic)])
def test_create_q_critic(critic_type, cls):
  critic = models.create_q_critic(
      critic_type, 1, META_DICT,
      {"hidden_sizes": [16], "ensemble_size": 3, "value_head": True,
       "value_hidden_sizes": [8]})
  assert type(critic) is cls and critic.num_members == 3
  assert critic.kind == critic_type
  obs = {"state": jnp.ones((4, 4))}
  actions = jnp.zeros((4, 3, 2))
  assert critic.q_values(obs, actions).shape == (3, 4)
  assert critic.target_q(jax.random.PRNGKey(0), obs, actions).shape == (4,)
  assert critic.action_grad(obs, actions, reduce="min").shape == (4, 3, 2)
  loss, metrics = critic.loss(obs, actions, jnp.zeros(4))
  assert loss.shape == () and "q_mean" in metrics
  assert critic.value(obs).shape == (4,)
  plain = models.create_q_critic(critic_type, 1, META_DICT,
                                 {"hidden_sizes": [8], "ensemble_size": 2})
  with pytest.raises(ValueError, match="value_head"):
    plain.value(obs)
