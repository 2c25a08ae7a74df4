"""Tests of the flow-matching policy: the loss, Euler sampling, two modes,
guidance and the temperature of x_0."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pa_rl.networks import flow
from pa_rl.networks import iterative


@pytest.fixture(scope="module")
def trained(low_dim_meta, tiny_policy_config, trainer, bimodal_batch):
  """A tiny flow policy fitted to actions +-0.8 at one observation."""
  net = flow.make_flow_policy(low_dim_meta, tiny_policy_config("flow"))
  obs, actions = bimodal_batch()
  params = net.init(jax.random.PRNGKey(0), obs)
  params, losses = trainer(lambda p, k: net.loss(p, k, obs, actions), params, num_steps=500)
  return net, params, losses


def _zero(params):
  return jax.tree.map(jnp.zeros_like, params)


def test_loss_is_the_velocity_regression_on_the_straight_path(low_dim_meta,
                                                               tiny_policy_config):
  net = flow.make_flow_policy(low_dim_meta, tiny_policy_config("flow"))
  obs = {"state": jnp.ones((5, 2))}
  actions = jnp.linspace(-0.9, 0.9, 5)[:, None]
  # All-zero parameters make the velocity 0 everywhere, so the loss is the
  # mean of |a - x_0|^2 over the loss's own draws of x_0.
  params = _zero(net.init(jax.random.PRNGKey(0), obs))
  key = jax.random.PRNGKey(3)
  _, noise_key, _ = jax.random.split(key, 3)
  x0 = jax.random.normal(noise_key, (5, 1))
  per_example = jnp.square(actions - x0)[:, 0]
  value, metrics = net.loss(params, key, obs, actions)
  assert float(value) == pytest.approx(float(per_example.mean()), rel=1e-5)
  assert float(metrics["mse"]) == pytest.approx(float(per_example.mean()), rel=1e-5)
  weights = jnp.array([2.0, 0.0, 0.0, 1.0, 0.0])
  weighted, _ = net.loss(params, key, obs, actions, weights)
  expected = (2 * per_example[0] + per_example[3]) / 3
  assert float(weighted) == pytest.approx(float(expected), rel=1e-5)


def test_sampling_starts_from_scaled_noise_and_follows_the_velocity(low_dim_meta,
                                                                    tiny_policy_config):
  config = {**tiny_policy_config("flow"), "clip_sample": False}
  net = flow.make_flow_policy(low_dim_meta, config)
  obs = {"state": jnp.ones((3, 2))}
  params = net.init(jax.random.PRNGKey(0), obs)
  key = jax.random.PRNGKey(1)
  # Zero velocity: a sample is its x_0, temperature times a standard normal.
  still = net.sample(_zero(params), key, obs, 4, temperature=0.5)
  x0 = 0.5 * jax.random.normal(key, (12, 1))
  np.testing.assert_allclose(still.reshape(12, 1), x0, rtol=1e-6)
  # temperature 0: one x_0 (= 0) for all samples, so they agree; K Euler
  # steps of the learned field differ from 1 step.
  same = net.sample(params, key, obs, 4, temperature=0.0)
  np.testing.assert_allclose(same, jnp.broadcast_to(same[:, :1], same.shape), atol=1e-6)
  one = flow.make_flow_policy(low_dim_meta, {**config, "num_flow_steps": 1})
  assert not np.allclose(one.sample(params, key, obs, 4, temperature=0.0), same)


def test_learns_both_modes(trained, mass_near):
  net, params, losses = trained
  assert float(jnp.mean(losses[-50:])) < 0.8 * float(jnp.mean(losses[:50]))
  samples = net.sample(params, jax.random.PRNGKey(2), {"state": jnp.ones((1, 2))}, 512)[0, :, 0]
  assert float(jnp.max(jnp.abs(samples))) <= 1.0
  assert mass_near(samples, 0.8) >= 0.35
  assert mass_near(samples, -0.8) >= 0.35
  # Deterministic sampling still draws x_0, so both modes stay.
  det = net.sample(params, jax.random.PRNGKey(2), {"state": jnp.ones((1, 2))}, 512,
                   deterministic=True)[0, :, 0]
  np.testing.assert_array_equal(det, samples)


def test_guidance_shifts_samples_toward_the_q_maximum(trained, mass_near):
  net, params, _ = trained
  a_star = 0.8
  guidance_fn = lambda obs, a: -(a - a_star)
  obs = {"state": jnp.ones((1, 2))}
  key = jax.random.PRNGKey(7)
  plain = net.sample(params, key, obs, 512, guidance_fn=guidance_fn, guidance_scale=0.0)[0, :, 0]
  guided = net.sample(params, key, obs, 512, guidance_fn=guidance_fn,
                      guidance_scale=1.0)[0, :, 0]
  assert float(jnp.mean(jnp.abs(guided - a_star))) < 0.6 * float(
      jnp.mean(jnp.abs(plain - a_star)))
  assert mass_near(guided, a_star) > mass_near(plain, a_star) + 0.2
  traced = jax.jit(lambda s: net.sample(params, key, obs, 512, guidance_fn=guidance_fn,
                                        guidance_scale=s))(0.0)[0, :, 0]
  np.testing.assert_allclose(traced, plain, atol=1e-5)


def test_many_rows_are_chunked_with_the_same_samples(low_dim_meta, tiny_policy_config,
                                                    monkeypatch):
  net = flow.make_flow_policy(low_dim_meta, {**tiny_policy_config("flow"), "hidden_dim": 512})
  obs = {"state": jax.random.normal(jax.random.PRNGKey(5), (8, 2))}
  params = net.init(jax.random.PRNGKey(0), obs)
  key = jax.random.PRNGKey(4)
  assert iterative.num_row_chunks(8 * 128, 512) > 1
  chunked = net.sample(params, key, obs, 128)  # 1,024 rows x 512 wide: several chunks
  monkeypatch.setattr(iterative, "num_row_chunks", lambda rows, hidden: 1)
  whole = net.sample(params, key, obs, 128)
  np.testing.assert_allclose(chunked, whole, atol=1e-5)
