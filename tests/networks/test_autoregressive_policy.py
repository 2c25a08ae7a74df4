"""Tests of the autoregressive transformer policy."""

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pa_rl import types
from pa_rl.networks import autoregressive
from pa_rl.networks import configs


def test_binning_round_trip():
  values = jnp.linspace(-1.0, 1.0, 1001)
  tokens = autoregressive.bin_actions(values, 8)
  assert int(tokens.min()) == 0 and int(tokens.max()) == 7
  np.testing.assert_array_equal(autoregressive.bin_actions(
      jnp.array([-1.0, -0.76, -0.74, 0.0, 0.99, 1.0]), 8), [0, 0, 1, 4, 7, 7])
  centres = autoregressive.bin_centres(tokens, 8)
  assert float(jnp.max(jnp.abs(centres - values))) <= 1.0 / 8 + 1e-6
  np.testing.assert_allclose(autoregressive.bin_centres(jnp.arange(4), 4),
                             [-0.75, -0.25, 0.25, 0.75])


def test_transformer_is_causal():
  config = configs.AutoregressivePolicyConfig(
      num_bins=8, num_layers=2, embed_dim=16, num_heads=2, dropout_rate=0.0)
  model = hk.without_apply_rng(hk.transform(
      lambda e, t: autoregressive.ActionTransformer(config, 5)(e, t, False)))
  embedding = jax.random.normal(jax.random.PRNGKey(0), (3, 4))
  tokens = jax.random.randint(jax.random.PRNGKey(1), (3, 5), 0, 8)
  params = model.init(jax.random.PRNGKey(2), embedding, tokens)
  logits = model.apply(params, embedding, tokens)
  assert logits.shape == (3, 5, 8)
  # Changing token j may change the predictions of dimensions > j only.
  changed = model.apply(params, embedding, tokens.at[:, 2].set((tokens[:, 2] + 1) % 8))
  np.testing.assert_allclose(logits[:, :3], changed[:, :3], atol=1e-5)
  assert not np.allclose(logits[:, 3:], changed[:, 3:])
  # Every position sees the observation.
  other = model.apply(params, embedding + 1.0, tokens)
  assert not np.allclose(logits[:, 0], other[:, 0])


@pytest.fixture(scope="module")
def trained(low_dim_meta, tiny_policy_config, trainer, bimodal_batch):
  net = autoregressive.make_autoregressive_policy(
      low_dim_meta, tiny_policy_config("autoregressive"))
  obs, actions = bimodal_batch()
  params = net.init(jax.random.PRNGKey(0), obs)
  params, losses = trainer(
      lambda p, k: net.loss(p, k, obs, actions), params, num_steps=300)
  return net, params, losses


def test_learns_both_modes(trained, mass_near):
  net, params, losses = trained
  # Two equally likely tokens: the optimal cross-entropy is log 2.
  assert float(losses[-1]) == pytest.approx(np.log(2), abs=0.02)
  samples = net.sample(params, jax.random.PRNGKey(2), {"state": jnp.ones((1, 2))},
                       512)[0, :, 0]
  assert mass_near(samples, 0.8) >= 0.35
  assert mass_near(samples, -0.8) >= 0.35


def test_temperature_and_argmax(trained, mass_near):
  net, params, _ = trained
  obs = {"state": jnp.ones((1, 2))}
  greedy = net.sample(params, jax.random.PRNGKey(0), obs, 8, deterministic=True)
  assert bool(jnp.all(greedy == greedy[0, 0]))
  assert abs(abs(float(greedy[0, 0, 0])) - 0.8) < 2.0 / 32
  # A high temperature flattens the token distribution toward uniform.
  hot = net.sample(params, jax.random.PRNGKey(0), obs, 512, temperature=50.0)[0, :, 0]
  assert mass_near(hot, 0.8) + mass_near(hot, -0.8) < 0.6


def test_multi_dimensional_actions_decode_jointly(trainer, tiny_policy_config):
  # Two perfectly correlated dimensions: (0.5, 0.5) or (-0.5, -0.5). An
  # independent-per-dimension model would also produce the mixed pairs.
  meta = types.ShapeMeta(observations={"state": types.ObsSpec((2,))},
                         action_dim=2)
  net = autoregressive.make_autoregressive_policy(
      meta, tiny_policy_config("autoregressive"))
  obs = {"state": jnp.ones((64, 2))}
  actions = jnp.where((jnp.arange(64) % 2 == 0)[:, None], 0.5, -0.5) * jnp.ones((1, 2))
  params = net.init(jax.random.PRNGKey(0), obs)
  params, _ = trainer(lambda p, k: net.loss(p, k, obs, actions), params, 300)
  samples = net.sample(params, jax.random.PRNGKey(1), {"state": jnp.ones((1, 2))},
                       256)[0]
  same_sign = jnp.mean(jnp.sign(samples[:, 0]) == jnp.sign(samples[:, 1]))
  assert float(same_sign) > 0.9
  assert 0.25 < float(jnp.mean(samples[:, 0] > 0)) < 0.75


def test_loss_weights_and_metrics(trained):
  net, params, _ = trained
  obs = {"state": jnp.ones((3, 2))}
  actions = jnp.array([[0.8], [-0.8], [0.0]])
  key = jax.random.PRNGKey(0)
  weighted, metrics = net.loss(params, key, obs, actions, jnp.array([1.0, 1.0, 0.0]))
  subset, _ = net.loss(params, key, jax.tree.map(lambda x: x[:2], obs), actions[:2])
  assert float(weighted) == pytest.approx(float(subset), rel=1e-5)
  assert set(metrics) == {"loss", "token_accuracy"}
  assert net.log_prob is None and not net.uses_ema
