"""Tests of the distributional (HL-Gauss / C51) Q-ensemble critic."""

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pa_rl import types
from pa_rl.networks import distributional_critic as dc

META = types.ShapeMeta(observations={"state": types.ObsSpec((3,))}, action_dim=2)
# HL-Gauss mass of N(1.3, 0.75^2) in the bins [0,1], [1,2], [2,3], [3,4],
# renormalized over [0, 4]: Phi differences computed by hand with math.erf.
HAND_PROBS = [0.3162400803443662, 0.5009771874601289, 0.17073440042676485,
              0.012048331768740083]
HAND_LOGITS = [0.0, 1.0, 2.0, 0.5]
HAND_CE = 1.6975362357425434  # -sum p_i log softmax(HAND_LOGITS)_i


def _phi(x):
  return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


class TargetsTest(chex.TestCase):
  """The pure target helpers, with and without jit (rlax-style)."""

  @chex.variants(with_jit=True, without_jit=True)
  def test_hl_gauss_target_matches_hand_numbers(self):
    edges = jnp.array([0.0, 1.0, 2.0, 3.0, 4.0])
    target_fn = self.variant(dc.hl_gauss_target)
    probs = target_fn(jnp.array(1.3), edges, 0.75)
    np.testing.assert_allclose(probs, HAND_PROBS, rtol=1e-5, atol=1e-6)
    by_erf = [_phi((edges[i + 1] - 1.3) / 0.75) - _phi((edges[i] - 1.3) / 0.75)
              for i in range(4)]
    np.testing.assert_allclose(probs, np.array(by_erf) / sum(by_erf), rtol=1e-5)
    # Batched, and targets outside the support are clipped onto its ends.
    batch = target_fn(jnp.array([1.3, 10.0, 4.0, -3.0]), edges, 0.75)
    assert batch.shape == (4, 4)
    np.testing.assert_allclose(batch[1], batch[2])
    np.testing.assert_allclose(batch[3], batch[2][::-1], atol=1e-6)
    np.testing.assert_allclose(jnp.sum(batch, axis=-1), 1.0, rtol=1e-6)

  @chex.variants(with_jit=True, without_jit=True)
  def test_cross_entropy_matches_hand_numbers(self):
    probs = jnp.array(HAND_PROBS)
    cross_entropy = self.variant(dc.cross_entropy)
    assert float(cross_entropy(probs, jnp.array(HAND_LOGITS))) == pytest.approx(
        HAND_CE, rel=1e-5)
    assert float(cross_entropy(probs, jnp.zeros(4))) == pytest.approx(
        math.log(4), rel=1e-6)

  @chex.variants(with_jit=True, without_jit=True)
  def test_two_hot_target(self):
    atoms = jnp.array([0.0, 1.0, 2.0, 3.0])
    two_hot = self.variant(dc.two_hot_target)
    probs = two_hot(jnp.array([1.25, -5.0, 3.0, 2.0]), atoms)
    np.testing.assert_allclose(probs, [[0, 0.75, 0.25, 0], [1, 0, 0, 0],
                                       [0, 0, 0, 1], [0, 0, 1, 0]], atol=1e-6)
    targets = jnp.linspace(0.0, 3.0, 37)
    mean = jnp.sum(two_hot(targets, atoms) * atoms, axis=-1)
    np.testing.assert_allclose(mean, targets, atol=1e-5)


@pytest.mark.parametrize("projection,per_member", [("hl_gauss", HAND_CE),
                                                   ("c51", None)])
def test_network_loss_with_fixed_logits(projection, per_member):
  # 4 bins over [0, 4]: bin width 1, so sigma = 0.75 as in the hand numbers.
  config = dict(hidden_sizes=(8,), ensemble_size=2, num_bins=4, v_min=0.0,
                v_max=4.0, projection=projection)
  net = dc.make_distributional_critic(META, config)
  obs = {"state": jnp.ones((3, 3))}
  actions = jnp.zeros((3, 2))
  params = net.init(jax.random.PRNGKey(0), obs, actions)
  # Zero output weights make every member's logits equal to the bias.
  out = dict(params["q_ensemble/q/output"])
  out["w"] = jnp.zeros_like(out["w"])
  out["b"] = jnp.tile(jnp.array(HAND_LOGITS), (2, 1))
  params = {**params, "q_ensemble/q/output": out}
  value, metrics = net.loss(params, obs, actions, jnp.full((3,), 1.3))
  if per_member is None:  # two-hot of 1.3 on centres 0.5..3.5: 0.2 / 0.8.
    log_softmax = np.array(HAND_LOGITS) - np.log(np.sum(np.exp(HAND_LOGITS)))
    per_member = -(0.2 * log_softmax[0] + 0.8 * log_softmax[1])
  assert float(value) == pytest.approx(2 * per_member, rel=1e-5)
  softmax = np.exp(HAND_LOGITS) / np.sum(np.exp(HAND_LOGITS))
  expected_q = float(np.sum(softmax * np.array([0.5, 1.5, 2.5, 3.5])))
  np.testing.assert_allclose(net.q_values(params, obs, actions), expected_q,
                             rtol=1e-5)
  assert float(metrics["q_mean"]) == pytest.approx(expected_q, rel=1e-5)


def _batch(key, size):
  obs_key, action_key = jax.random.split(key)
  obs = {"state": jax.random.normal(obs_key, (size, 3))}
  actions = jax.random.uniform(action_key, (size, 2), minval=-1, maxval=1)
  target = jnp.clip(jnp.sum(actions, axis=-1) + obs["state"][:, 0], -3.5, 3.5)
  return obs, actions, target


@pytest.mark.parametrize("projection", ["hl_gauss", "c51"])
def test_every_member_fits_a_regression(projection, tiny_critic_config, trainer):
  config = {**tiny_critic_config("distributional"), "projection": projection,
            "target_subset_size": 3}
  net = dc.make_distributional_critic(META, config)
  obs, actions, _ = _batch(jax.random.PRNGKey(0), 4)
  params = jax.jit(net.init)(jax.random.PRNGKey(1), obs, actions)
  q0 = jax.jit(net.q_values)(params, obs, actions)
  assert float(jnp.min(jnp.std(q0, axis=0))) > 1e-4  # members differ

  def loss_fn(p, key):
    obs, actions, target = _batch(key, 128)
    return net.loss(p, obs, actions, target)

  params, _ = trainer(loss_fn, params, num_steps=300)
  obs, actions, target = _batch(jax.random.PRNGKey(99), 512)
  q = jax.jit(net.q_values)(params, obs, actions)
  per_member_mse = jnp.mean(jnp.square(q - target), axis=1)
  assert float(jnp.max(per_member_mse)) < 0.05, per_member_mse
  target_q = net.target_q(params, jax.random.PRNGKey(3), obs, actions)
  # With m = E the subset minimum is the minimum over all members.
  np.testing.assert_allclose(target_q, jnp.min(q, axis=0), rtol=1e-5, atol=1e-5)
  assert net.action_grad(params, obs, actions, reduce="min").shape == (512, 2)
