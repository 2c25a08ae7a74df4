"""IQL and Cal-QL losses against numbers computed by hand."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pa_rl import types
from pa_rl.agents import losses
from pa_rl.networks import base

META = types.ShapeMeta(observations={"x": types.ObsSpec((1,))}, action_dim=1)


def _critic():
  # Member e: Q_e(s, a) = w_e * a + x. V(s) = v * x.
  def q_values(params, obs, actions):
    return params["w"][:, None] * actions[None, :, 0] + obs["x"][None, :, 0]

  def loss(params, obs, actions, target):
    q = q_values(params, obs, actions)
    return jnp.sum(jnp.mean((q - target[None]) ** 2, axis=1)), {"q_mean": q.mean()}

  return base.CriticNetwork(
      init=None, q_values=q_values, loss=loss,
      target_q=lambda p, k, o, a: q_values(p, o, a).min(0),
      action_grad=None, num_members=2, shape_meta=META, kind="linear",
      value=lambda p, o: p["v"] * o["x"][:, 0])


PARAMS = {"w": jnp.array([1.0, 2.0]), "v": jnp.array(0.5)}
BATCH = types.Transition(
    observation={"x": jnp.array([[1.0], [2.0]])}, action=jnp.array([[0.5], [-0.5]]),
    reward=jnp.array([1.0, 0.0]), discount=jnp.array([0.9, 0.0]),
    next_observation={"x": jnp.array([[3.0], [4.0]])}, mc_return=jnp.array([5.0, -5.0]))


def test_expectile_loss():
  np.testing.assert_allclose(losses.expectile_loss(jnp.array([2.0, -2.0]), 0.7),
                             [0.7 * 4, 0.3 * 4])


def test_iql_loss_by_hand():
  loss, metrics = losses.iql_critic_loss(_critic(), PARAMS, PARAMS, jax.random.PRNGKey(0),
                                         BATCH, expectile=0.7)
  # Target Q of the data action: min(1.5, 2.0) = 1.5 and min(1.5, 1.0) = 1.0;
  # V = (0.5, 1.0): diffs (1.0, 0.0) -> expectile loss mean(0.7, 0) = 0.35.
  # TD target: 1 + 0.9 * V(s') = 1 + 0.9 * 1.5 = 2.35, and 0 (terminal).
  # Q loss: member 1 ((1.5-2.35)^2 + 1.5^2) / 2, member 2 ((2-2.35)^2 + 1^2) / 2.
  q_loss = (0.7225 + 2.25) / 2 + (0.1225 + 1.0) / 2
  assert float(metrics["critic/v_loss"]) == pytest.approx(0.35)
  assert float(loss) == pytest.approx(q_loss + 0.35, rel=1e-6)


@pytest.mark.parametrize("calibrate", [True, False])
def test_calql_loss_by_hand(calibrate):
  policy_actions = jnp.array([[[1.0]], [[0.0]]])  # n = 1 CQL action per state
  next_policy_actions = jnp.array([[[-1.0]], [[1.0]]])
  random_actions = jnp.array([[[0.0]], [[0.5]]])
  next_actions = jnp.array([[0.0], [0.0]])
  loss, metrics = losses.calql_critic_loss(
      _critic(), PARAMS, PARAMS, jax.random.PRNGKey(0), BATCH, next_actions, policy_actions,
      next_policy_actions, random_actions, alpha=0.5, use_calibration=calibrate)
  w, x, mc = np.array([1.0, 2.0]), np.array([1.0, 2.0]), np.array([5.0, -5.0])
  # TD: target_q at s' with a=0: min_e(0 + x') = (3, 4) -> y = (1 + 0.9*3, 0) = (3.7, 0).
  q_data = w[:, None] * np.array([0.5, -0.5])[None] + x[None]
  td = np.sum(np.mean((q_data - np.array([3.7, 0.0])[None]) ** 2, axis=1))
  q_rand = w[:, None] * np.array([0.0, 0.5])[None] + x[None]
  q_pi = w[:, None] * np.array([1.0, 0.0])[None] + x[None]
  q_pi_next = w[:, None] * np.array([-1.0, 1.0])[None] + x[None]
  if calibrate:  # Cal-QL: the policy's Q is at least the Monte-Carlo return.
    q_pi, q_pi_next = np.maximum(q_pi, mc[None]), np.maximum(q_pi_next, mc[None])
  stacked = np.stack([q_rand, q_pi, q_pi_next], -1)
  lse = np.log(np.exp(stacked).sum(-1)) - np.log(3)
  cql = np.sum(np.mean(lse - q_data, axis=1))
  assert float(metrics["critic/td_loss"]) == pytest.approx(td, rel=1e-6)
  assert float(loss) == pytest.approx(td + 0.5 * cql, rel=1e-5)


def test_sac_critic_loss_by_hand():
  next_actions = jnp.array([[1.0], [0.0]])
  next_log_prob = jnp.array([-1.0, 2.0])
  loss, metrics = losses.sac_critic_loss(_critic(), PARAMS, PARAMS, jax.random.PRNGKey(0),
                                         BATCH, next_actions, next_log_prob,
                                         entropy_alpha=0.5)
  # Soft value at s': min_e(w_e a' + x') - 0.5 log pi = min(4, 5) + 0.5 = 4.5 and
  # min(4, 4) - 1 = 3. Targets: 1 + 0.9 * 4.5 = 5.05 and 0 + 0 * 3 = 0 (terminal).
  # Q(s, a): member 1 (1.5, 1.5), member 2 (2.0, 1.0).
  expected = ((1.5 - 5.05) ** 2 + 1.5 ** 2) / 2 + ((2.0 - 5.05) ** 2 + 1.0 ** 2) / 2
  assert float(loss) == pytest.approx(expected, rel=1e-6)
  assert float(metrics["critic/target"]) == pytest.approx((5.05 + 0.0) / 2)
  assert float(metrics["critic/next_log_prob"]) == pytest.approx(0.5)


def test_awr_weights_by_hand_and_their_clip():
  q, v = jnp.array([1.0, 0.0, 3.0, 10.0]), jnp.array([0.5, 0.0, 1.0, 0.0])
  # exp(2 * (q - v)): e^1, e^0 = 1, e^4 = 54.6, e^20 -> clipped at 100.
  np.testing.assert_allclose(losses.awr_weights(q, v, temperature=2.0),
                             [np.e, 1.0, np.exp(4.0), 100.0], rtol=1e-6)
  np.testing.assert_allclose(losses.awr_weights(q, v, temperature=2.0, max_weight=10.0),
                             [np.e, 1.0, 10.0, 10.0], rtol=1e-6)
  # No gradient reaches Q or V through the weights.
  grad = jax.grad(lambda q: losses.awr_weights(q, v, 2.0).sum())(q)
  np.testing.assert_array_equal(grad, np.zeros(4))


def test_sac_policy_loss_by_hand():
  # A "policy" whose reparameterized sample is a = theta (for every state) and
  # whose log-density is -theta^2; the linear critic gives Q_e = w_e a + x.
  policy = base.PolicyNetwork(
      init=None, loss=None, shape_meta=META, kind="point",
      sample=lambda p, k, o, n: jnp.broadcast_to(p["theta"], (o["x"].shape[0], n, 1)),
      log_prob=lambda p, o, a: jnp.broadcast_to(-p["theta"] ** 2, (o["x"].shape[0],)))
  params = {"theta": jnp.array(0.5)}
  loss, metrics = losses.sac_policy_loss(policy, params, _critic(), PARAMS,
                                         jax.random.PRNGKey(0), BATCH.observation,
                                         entropy_alpha=0.2)
  # log pi = -0.25; Q at a = 0.5: members (0.5 + x, 1.0 + x), mean 0.75 + x with
  # x = (1, 2): Q = (1.75, 2.75). Loss = mean(0.2 * -0.25 - Q) = -0.05 - 2.25.
  assert float(loss) == pytest.approx(-2.3, rel=1e-6)
  assert float(metrics["policy/entropy"]) == pytest.approx(0.25)
  assert float(metrics["policy/q"]) == pytest.approx(2.25)
  # d/dtheta: alpha * -2 theta - mean_e w_e = -0.2 - 1.5.
  grad = jax.grad(lambda p: losses.sac_policy_loss(
      policy, p, _critic(), PARAMS, jax.random.PRNGKey(0), BATCH.observation, 0.2)[0])(params)
  assert float(grad["theta"]) == pytest.approx(-1.7, rel=1e-6)
