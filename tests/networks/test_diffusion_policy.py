"""Tests of the DDPM diffusion policy: schedules, the loss, sampling (DDPM
and DDIM), multimodality and classifier guidance."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pa_rl.networks import diffusion


@pytest.fixture(scope="module")
def trained(low_dim_meta, tiny_policy_config, trainer, bimodal_batch):
  """A tiny diffusion policy fitted to actions +-0.8 at one observation."""
  net = diffusion.make_diffusion_policy(low_dim_meta,
                                        tiny_policy_config("diffusion"))
  obs, actions = bimodal_batch()
  params = net.init(jax.random.PRNGKey(0), obs)
  params, losses = trainer(
      lambda p, k: net.loss(p, k, obs, actions), params, num_steps=500)
  return net, params, losses


def test_cosine_schedule_matches_formula():
  betas = diffusion.beta_schedule("cosine", 5)
  f = lambda t: math.cos((t / 5 + 0.008) / 1.008 * math.pi / 2) ** 2
  alpha_bar = [f(t) / f(0) for t in range(1, 6)]
  np.testing.assert_allclose(np.cumprod(1 - betas), np.minimum(alpha_bar, 1),
                             atol=1e-3)  # the last beta is clipped to 0.999
  assert np.all((betas > 0) & (betas <= 0.999))
  assert np.all(np.diff(betas) > 0)


def test_linear_schedule_rescales_to_num_steps():
  np.testing.assert_allclose(diffusion.beta_schedule("linear", 1000)[[0, -1]],
                             [1e-4, 0.02])
  betas = diffusion.beta_schedule("linear", 10)
  np.testing.assert_allclose(betas[0], 0.01)
  assert betas[-1] == pytest.approx(0.999)
  with pytest.raises(ValueError, match="choose one of: cosine, linear"):
    diffusion.beta_schedule("quadratic", 5)


def test_learns_both_modes(trained, mass_near):
  net, params, losses = trained
  assert float(jnp.mean(losses[-50:])) < 0.75 * float(jnp.mean(losses[:50]))
  samples = net.sample(params, jax.random.PRNGKey(2), {"state": jnp.ones((1, 2))},
                       512)[0, :, 0]
  assert float(jnp.max(jnp.abs(samples))) <= 1.0
  assert mass_near(samples, 0.8) >= 0.35
  assert mass_near(samples, -0.8) >= 0.35


def test_guidance_shifts_samples_toward_the_q_maximum(trained, mass_near):
  net, params, _ = trained
  a_star = 0.8
  # Q(s, a) = -|a - a*|^2 / 2, so grad_a Q = -(a - a*). With scale 1 each
  # DDPM step moves the posterior mean a fraction sigma_t^2 (< 1) of the way
  # to a*; a scale above 2 / sigma_t^2 would overshoot on this curvature.
  guidance_fn = lambda obs, a: -(a - a_star)
  obs = {"state": jnp.ones((1, 2))}
  key = jax.random.PRNGKey(7)
  plain = net.sample(params, key, obs, 512, guidance_fn=guidance_fn,
                     guidance_scale=0.0)[0, :, 0]
  guided = net.sample(params, key, obs, 512, guidance_fn=guidance_fn,
                      guidance_scale=1.0)[0, :, 0]
  assert float(jnp.mean(jnp.abs(guided - a_star))) < 0.75 * float(
      jnp.mean(jnp.abs(plain - a_star)))
  assert mass_near(guided, a_star) > mass_near(plain, a_star) + 0.15
  # A traced scale of zero is the same as no guidance.
  traced = jax.jit(lambda s: net.sample(params, key, obs, 512,
                                        guidance_fn=guidance_fn,
                                        guidance_scale=s))(0.0)[0, :, 0]
  np.testing.assert_allclose(traced, plain, atol=1e-5)


def test_ddim_sampler_with_fewer_steps(low_dim_meta, tiny_policy_config, trained,
                                       mass_near):
  _, params, _ = trained
  config = {**tiny_policy_config("diffusion"), "sampler": "ddim", "ddim_steps": 3}
  net = diffusion.make_diffusion_policy(low_dim_meta, config)
  obs = {"state": jnp.ones((1, 2))}
  samples = net.sample(params, jax.random.PRNGKey(2), obs, 512)[0, :, 0]
  assert mass_near(samples, 0.8) + mass_near(samples, -0.8) > 0.6
  # eta = 0: the sample is a deterministic function of x_T.
  again = net.sample(params, jax.random.PRNGKey(2), obs, 512,
                     deterministic=True)[0, :, 0]
  np.testing.assert_allclose(samples, again, atol=1e-6)
  guided = net.sample(params, jax.random.PRNGKey(2), obs, 512,
                      guidance_fn=lambda o, a: -(a - 0.8), guidance_scale=1.0)
  assert float(jnp.mean(jnp.abs(guided - 0.8))) < float(
      jnp.mean(jnp.abs(samples - 0.8)))


def test_deterministic_ddpm_injects_no_noise(trained):
  net, params, _ = trained
  obs = {"state": jnp.ones((1, 2))}
  key = jax.random.PRNGKey(3)
  a = net.sample(params, key, obs, 16, deterministic=True)
  b = net.sample(params, key, obs, 16, deterministic=True, temperature=3.0)
  c = net.sample(params, key, obs, 16)
  np.testing.assert_allclose(a, b)
  assert not np.allclose(a, c)


def test_dropout_only_in_the_loss(low_dim_meta, tiny_policy_config):
  config = {**tiny_policy_config("diffusion"), "dropout_rate": 0.5}
  net = diffusion.make_diffusion_policy(low_dim_meta, config)
  obs = {"state": jnp.ones((4, 2))}
  params = net.init(jax.random.PRNGKey(0), obs)
  actions = jnp.full((4, 1), 0.3)
  # Same key -> same loss; the key drives t, the noise and dropout.
  l1, _ = net.loss(params, jax.random.PRNGKey(1), obs, actions)
  l2, _ = net.loss(params, jax.random.PRNGKey(1), obs, actions)
  assert float(l1) == float(l2)
  # The same parameters without dropout: the loss differs (dropout acts
  # there), sampling does not (no dropout when acting).
  plain = diffusion.make_diffusion_policy(low_dim_meta, {**config, "dropout_rate": 0.0})
  l3, _ = plain.loss(params, jax.random.PRNGKey(1), obs, actions)
  assert float(l3) != float(l1)
  for deterministic in (False, True):
    s1 = net.sample(params, jax.random.PRNGKey(1), obs, 3, deterministic=deterministic)
    s2 = plain.sample(params, jax.random.PRNGKey(1), obs, 3, deterministic=deterministic)
    np.testing.assert_array_equal(s1, s2)
  assert net.uses_ema and net.log_prob is None


def test_loss_weights(trained):
  net, params, _ = trained
  obs = {"state": jnp.ones((4, 2))}
  actions = jnp.array([[0.8], [-0.8], [0.1], [0.5]])
  key = jax.random.PRNGKey(0)
  zero_weight, _ = net.loss(params, key, obs, actions, jnp.zeros(4))
  assert float(zero_weight) == 0.0
  value, metrics = net.loss(params, key, obs, actions, jnp.full(4, 2.0))
  assert float(value) == pytest.approx(float(metrics["mse"]), rel=1e-5)
