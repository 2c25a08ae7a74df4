"""Tests of the scalar Q-ensemble critic."""

import dataclasses
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pa_rl import types
from pa_rl.networks import ensemble_critic

META = types.ShapeMeta(observations={"state": types.ObsSpec((3,))}, action_dim=2)


def _batch(key, size):
  obs_key, action_key = jax.random.split(key)
  obs = {"state": jax.random.normal(obs_key, (size, 3))}
  actions = jax.random.uniform(action_key, (size, 2), minval=-1, maxval=1)
  return obs, actions, jnp.sum(actions, axis=-1) + obs["state"][:, 0]


def _jitted(net):
  """The network with its functions jitted (eager Haiku is slow on CPU)."""
  return dataclasses.replace(
      net, q_values=jax.jit(net.q_values), target_q=jax.jit(net.target_q),
      action_grad=jax.jit(net.action_grad, static_argnames="reduce"),
      value=net.value and jax.jit(net.value))


@pytest.fixture(scope="module")
def critic(tiny_critic_config):
  net = ensemble_critic.make_ensemble_critic(META, tiny_critic_config("ensemble"))
  obs, actions, _ = _batch(jax.random.PRNGKey(0), 4)
  return net, jax.jit(net.init)(jax.random.PRNGKey(1), obs, actions)


@pytest.fixture(scope="module")
def fitted(critic, trainer):
  net, params = critic

  def loss_fn(p, key):
    obs, actions, target = _batch(key, 128)
    return net.loss(p, obs, actions, target)

  params, losses = trainer(loss_fn, params, num_steps=500)
  return net, params, losses


def test_members_differ_at_init(critic):
  net, params = critic
  obs, actions, _ = _batch(jax.random.PRNGKey(2), 16)
  q = net.q_values(params, obs, actions)
  assert q.shape == (4, 16) and net.num_members == 4
  for i, j in itertools.combinations(range(4), 2):
    assert float(jnp.max(jnp.abs(q[i] - q[j]))) > 1e-3
  leaves = jax.tree.leaves(params["q_ensemble/q/linear_0"])
  assert all(leaf.shape[0] == 4 for leaf in leaves)


def test_every_member_fits_a_regression(fitted):
  net, params, losses = fitted
  obs, actions, target = _batch(jax.random.PRNGKey(99), 512)
  q = net.q_values(params, obs, actions)
  per_member_mse = jnp.mean(jnp.square(q - target), axis=1)
  assert float(jnp.max(per_member_mse)) < 0.02, per_member_mse
  # dQ/da = 1 for every action dimension.
  grad = net.action_grad(params, obs, actions)
  assert grad.shape == actions.shape
  assert float(jnp.mean(jnp.abs(grad - 1.0))) < 0.15


def test_loss_is_member_sum_of_batch_mse(critic):
  net, params = critic
  obs, actions, target = _batch(jax.random.PRNGKey(3), 8)
  value, metrics = net.loss(params, obs, actions, target)
  q = net.q_values(params, obs, actions)
  expected = jnp.sum(jnp.mean(jnp.square(q - target), axis=1))
  assert float(value) == pytest.approx(float(expected), rel=1e-5)
  assert float(metrics["q_mean"]) == pytest.approx(float(jnp.mean(q)), rel=1e-5)
  # The target is a constant: no gradient flows into it.
  grad = jax.grad(lambda y: net.loss(params, obs, actions, y)[0])(target)
  np.testing.assert_array_equal(grad, 0.0)


def test_target_is_min_over_a_random_pair(critic):
  net, params = critic
  net = _jitted(net)
  obs, actions, _ = _batch(jax.random.PRNGKey(4), 8)
  q = np.asarray(net.q_values(params, obs, actions))
  pair_mins = {pair: q[list(pair)].min(axis=0)
               for pair in itertools.combinations(range(4), 2)}
  seen = set()
  for seed in range(20):
    target = np.asarray(net.target_q(params, jax.random.PRNGKey(seed), obs, actions))
    matches = [p for p, m in pair_mins.items() if np.allclose(m, target, atol=1e-6)]
    assert matches, "target_q is not the min over any pair of members"
    seen.add(matches[0])
  assert len(seen) > 1  # the subset depends on the key


def test_action_grad_matches_finite_differences(critic):
  net, params = critic
  net = _jitted(net)
  obs, actions, _ = _batch(jax.random.PRNGKey(5), 3)
  eps = 1e-2
  for reduce, fn in (("mean", np.mean), ("min", np.min)):
    grad = np.asarray(net.action_grad(params, obs, actions, reduce=reduce))
    for dim in range(2):
      delta = jnp.zeros_like(actions).at[:, dim].set(eps)
      up = fn(np.asarray(net.q_values(params, obs, actions + delta)), axis=0)
      down = fn(np.asarray(net.q_values(params, obs, actions - delta)), axis=0)
      np.testing.assert_allclose(grad[:, dim], (up - down) / (2 * eps),
                                 rtol=0.05, atol=1e-3)
  with pytest.raises(ValueError, match="choose one of: mean, min"):
    critic[0].action_grad(params, obs, actions, reduce="max")


def test_extra_leading_axes(critic):
  net, params = critic
  obs, actions, _ = _batch(jax.random.PRNGKey(6), 6)
  q = net.q_values(params, obs, actions)
  q_2d = net.q_values(params, jax.tree.map(lambda x: x.reshape(2, 3, -1), obs),
                      actions.reshape(2, 3, 2))
  np.testing.assert_allclose(q_2d.reshape(4, 6), q, rtol=1e-5, atol=1e-6)


def test_value_head(tiny_critic_config):
  obs, actions, _ = _batch(jax.random.PRNGKey(0), 5)
  plain = ensemble_critic.make_ensemble_critic(META, tiny_critic_config("ensemble"))
  assert plain.value is None
  assert not any(k.startswith("value") for k in jax.eval_shape(
      plain.init, jax.random.PRNGKey(0), obs, actions))
  config = {**tiny_critic_config("ensemble"), "value_head": True}
  net = ensemble_critic.make_ensemble_critic(META, config)
  params = jax.jit(net.init)(jax.random.PRNGKey(0), obs, actions)
  assert any(k.startswith("value") for k in params)
  assert net.value(params, obs).shape == (5,)
  # The value head is not part of the Q members.
  grads = jax.jit(jax.grad(lambda p: jnp.sum(net.value(p, obs))))(params)
  assert all(float(jnp.max(jnp.abs(g))) == 0.0
             for g in jax.tree.leaves(grads["q_ensemble/q/output"]))
