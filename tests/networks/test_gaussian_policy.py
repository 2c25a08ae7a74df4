"""Tests of the tanh-squashed Gaussian policy."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pa_rl.networks import gaussian


@pytest.fixture(scope="module")
def policy(low_dim_meta, tiny_policy_config):
  net = gaussian.make_gaussian_policy(low_dim_meta, tiny_policy_config("gaussian"))
  params = net.init(jax.random.PRNGKey(0), low_dim_meta.dummy_observation(4))
  return net, params


def test_log_prob_integrates_to_one(policy):
  net, params = policy
  grid = jnp.linspace(-1 + 1e-6, 1 - 1e-6, 200_001)
  obs = {"state": jnp.tile(jnp.array([[0.3, -1.2]]), (grid.shape[0], 1))}
  density = jnp.exp(net.log_prob(params, obs, grid[:, None]))
  total = float(jnp.sum(density) * (grid[1] - grid[0]))
  assert total == pytest.approx(1.0, abs=2e-3)


def test_log_prob_matches_numpy_change_of_variables():
  rng = np.random.default_rng(0)
  mean = rng.normal(size=(5, 3))
  log_std = rng.normal(size=(5, 3)) * 0.5
  u = rng.normal(size=(5, 3)) * 2
  std = np.exp(log_std)
  expected = np.sum(
      -0.5 * ((u - mean) / std) ** 2 - np.log(std) - 0.5 * np.log(2 * np.pi)
      - np.log(1 - np.tanh(u) ** 2), axis=-1)
  got = gaussian.squashed_gaussian_log_prob(jnp.asarray(u), jnp.asarray(mean),
                                            jnp.asarray(log_std))
  np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_log_det_is_finite_far_in_the_tails():
  u = jnp.array([-50.0, -10.0, 0.0, 10.0, 50.0])
  log_det = gaussian.tanh_log_det_jacobian(u)
  assert bool(jnp.all(jnp.isfinite(log_det)))
  assert float(log_det[2]) == pytest.approx(0.0, abs=1e-6)
  # log(1 - tanh(u)^2) ~ log 4 - 2|u| for large |u|.
  assert float(log_det[0]) == pytest.approx(math.log(4) - 100, rel=1e-5)


def test_log_prob_of_box_edge_actions_is_finite(policy):
  net, params = policy
  obs = {"state": jnp.zeros((2, 2))}
  log_probs = net.log_prob(params, obs, jnp.array([[1.0], [-1.0]]))
  assert bool(jnp.all(jnp.isfinite(log_probs)))


def test_deterministic_sample_is_tanh_of_mean(policy):
  net, params = policy
  obs = {"state": jnp.array([[0.1, 0.2], [-0.5, 2.0]])}
  samples = net.sample(params, jax.random.PRNGKey(3), obs, 4, deterministic=True)
  assert samples.shape == (2, 4, 1)
  np.testing.assert_allclose(samples[:, 0], samples[:, 3])
  other_key = net.sample(params, jax.random.PRNGKey(4), obs, 4, deterministic=True)
  np.testing.assert_allclose(samples, other_key)
  # tanh(mean) is also the median of each squashed coordinate.
  many = net.sample(params, jax.random.PRNGKey(5), obs, 20_000)
  np.testing.assert_allclose(jnp.median(many, axis=1), samples[:, 0], atol=0.03)
  stochastic = net.sample(params, jax.random.PRNGKey(3), obs, 64)
  assert not np.allclose(stochastic[:, 0], stochastic[:, 1])
  assert float(jnp.max(jnp.abs(stochastic))) <= 1.0


def test_weights_select_examples(policy):
  net, params = policy
  obs = {"state": jnp.array([[0.1, 0.2], [-0.5, 2.0], [1.0, 1.0]])}
  actions = jnp.array([[0.5], [-0.2], [0.9]])
  key = jax.random.PRNGKey(0)
  weighted, _ = net.loss(params, key, obs, actions, jnp.array([1.0, 0.0, 1.0]))
  subset, _ = net.loss(params, key, jax.tree.map(lambda x: x[::2], obs),
                       actions[::2])
  assert float(weighted) == pytest.approx(float(subset), rel=1e-5)
  value, metrics = net.loss(params, key, obs, actions)
  assert set(metrics) >= {"loss", "log_prob", "entropy", "std"}
  assert float(value) == pytest.approx(-float(jnp.mean(
      net.log_prob(params, obs, actions))), rel=1e-5)


def test_unimodal_policy_cannot_fit_two_modes(low_dim_meta, tiny_policy_config,
                                              trainer, bimodal_batch, mass_near):
  # The expected failure of a unimodal policy: maximum likelihood on actions
  # +-0.8 puts the mean between the modes and widens the Gaussian (the
  # optimum is mean 0, std atanh(0.8) ~ 1.1 before tanh), so each mode gets
  # only ~27% of the mass. Diffusion and autoregressive policies get >= 35%.
  net = gaussian.make_gaussian_policy(low_dim_meta, tiny_policy_config("gaussian"))
  obs, actions = bimodal_batch()
  params = net.init(jax.random.PRNGKey(0), obs)
  params, losses = trainer(
      lambda p, k: net.loss(p, k, obs, actions), params, num_steps=300)
  assert float(losses[-1]) < float(losses[0])
  samples = net.sample(params, jax.random.PRNGKey(2), {"state": jnp.ones((1, 2))},
                       2048)[0, :, 0]
  near = (mass_near(samples, 0.8), mass_near(samples, -0.8))
  assert min(near) < 0.35, near
