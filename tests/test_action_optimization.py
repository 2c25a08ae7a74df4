import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pa_rl import action_optimization as ao
from pa_rl import types
from pa_rl.networks import base

META = types.ShapeMeta(observations={"state": types.ObsSpec((2,))}, action_dim=2)
# Q(s, a) = -|a - a*(s)|^2 with a*(s) = 0.5 * tanh(s): the maximizer is known.


def _target(obs):
  return 0.5 * jnp.tanh(obs["state"])


def _quadratic_critic(num_members=2):
  def q_values(params, obs, actions):
    q = -jnp.sum((actions - _target(obs)) ** 2, axis=-1)
    return jnp.stack([q + i * 0.01 for i in range(num_members)])

  def action_grad(params, obs, actions, reduce="mean"):
    return jax.grad(lambda a: q_values(params, obs, a).mean(0).sum())(actions)

  return base.CriticNetwork(
      init=lambda *a: {}, q_values=q_values, loss=None, target_q=None,
      action_grad=action_grad, num_members=num_members, shape_meta=META, kind="quadratic")


def _uniform_policy():
  def sample(params, key, obs, num_samples, **kwargs):
    batch = obs["state"].shape[0]
    return jax.random.uniform(key, (batch, num_samples, 2), minval=-1, maxval=1)
  return base.PolicyNetwork(init=lambda *a: {}, sample=sample, loss=None, shape_meta=META,
                            kind="uniform")


OBS = {"state": jnp.array([[0.3, -1.0], [2.0, 0.1], [-0.5, 0.5]])}


@pytest.mark.parametrize("use_jit", [True, False])
def test_finds_the_maximizer_and_each_stage_helps(use_jit):
  config = ao.ActionOptimizationConfig(num_samples=64, top_k=8, num_steps=50, step_size=0.05)
  fn = lambda key: ao.optimize_actions(_uniform_policy(), {}, _quadratic_critic(), {}, key, OBS,
                                       config)
  actions, metrics = (jax.jit(fn) if use_jit else fn)(jax.random.PRNGKey(0))
  np.testing.assert_allclose(actions, _target(OBS), atol=0.02)
  assert metrics["action_opt/global_gain"] > 0
  assert metrics["action_opt/local_gain"] > 0
  assert metrics["action_opt/q_selected"] >= metrics["action_opt/q_local"]


def test_each_stage_raises_mean_q():
  config = ao.ActionOptimizationConfig(num_samples=32, top_k=10, num_steps=10, step_size=0.02)
  critic, policy = _quadratic_critic(), _uniform_policy()
  key = jax.random.PRNGKey(1)
  cand, q_top, q_all = ao.global_optimization(policy, {}, critic, {}, key, OBS, config)
  assert cand.shape == (3, 10, 2)
  assert float(q_top.mean()) > float(q_all.mean())
  best, best_q = ao.local_optimization(critic, {}, OBS, cand, q_top, config)
  assert np.all(np.asarray(best_q) >= np.asarray(q_top))  # best iterate kept
  assert float(best_q.mean()) > float(q_top.mean())
  assert np.all(np.abs(np.asarray(best)) <= 1.0)


def test_local_steps_stay_in_bounds_and_keep_best():
  # A huge step overshoots: the best iterate (the start) must be kept.
  config = ao.ActionOptimizationConfig(num_samples=4, top_k=4, num_steps=3, step_size=100.0)
  critic = _quadratic_critic()
  cand = jnp.broadcast_to(_target(OBS)[:, None], (3, 4, 2)) + 0.01
  q = ao.score(critic, {}, OBS, cand)
  best, best_q = ao.local_optimization(critic, {}, OBS, cand, q, config)
  np.testing.assert_allclose(best, cand)
  np.testing.assert_allclose(best_q, q)


def test_dataset_action_replaces_worst_and_softmax_selection():
  config = ao.ActionOptimizationConfig(num_samples=8, top_k=4, num_steps=0)
  data = _target(OBS)  # The optimum: it must win the argmax.
  actions, _ = ao.optimize_actions(_uniform_policy(), {}, _quadratic_critic(), {},
                                   jax.random.PRNGKey(2), OBS, config, dataset_actions=data)
  np.testing.assert_allclose(actions, data, atol=1e-6)
  # Softmax with a tiny temperature is the argmax; a huge one is near uniform.
  cand = jnp.stack([jnp.full((3, 2), v) for v in (0.0, 0.5, -0.5)], axis=1)
  q = jnp.array([[0.0, 1.0, -1.0]] * 3)
  picked, _ = ao.select(jax.random.PRNGKey(0), cand, q, ao.SOFTMAX, temperature=1e-3)
  np.testing.assert_allclose(picked, 0.5)
  keys = jax.random.split(jax.random.PRNGKey(0), 300)
  picks = jax.vmap(lambda k: ao.select(k, cand, q, ao.SOFTMAX, temperature=100.0)[0][0, 0])(keys)
  for value in (0.0, 0.5, -0.5):
    assert 0.2 < float(jnp.mean(picks == value)) < 0.47


def test_chunked_actions_and_min_reduction():
  meta = types.ShapeMeta(observations={"state": types.ObsSpec((2,))}, action_dim=2,
                         action_horizon=3)
  def q_values(params, obs, actions):
    q = -jnp.sum((actions - 0.2) ** 2, axis=(-1, -2))
    return jnp.stack([q, 2 * q])
  critic = base.CriticNetwork(
      init=None, q_values=q_values, loss=None, target_q=None,
      action_grad=lambda p, o, a, reduce="mean": jax.grad(
          lambda x: (q_values(p, o, x).min(0) if reduce == "min" else q_values(p, o, x).mean(0)).sum())(a),
      num_members=2, shape_meta=meta, kind="q")
  policy = base.PolicyNetwork(
      init=None, shape_meta=meta, kind="u", loss=None,
      sample=lambda p, k, o, n, **kw: jax.random.uniform(k, (o["state"].shape[0], n, 3, 2),
                                                         minval=-1, maxval=1))
  config = ao.ActionOptimizationConfig(num_samples=16, top_k=4, num_steps=30, step_size=0.05,
                                       q_reduce="min")
  actions, metrics = jax.jit(lambda k: ao.optimize_actions(policy, None, critic, None, k, OBS,
                                                           config))(jax.random.PRNGKey(0))
  assert actions.shape == (3, 3, 2)
  np.testing.assert_allclose(actions, 0.2, atol=0.05)
  assert metrics["action_opt/local_gain"] > 0


@pytest.mark.parametrize("kwargs, match", [
    ({"top_k": 40}, "top_k"), ({"num_samples": 0}, "num_samples"),
    ({"num_steps": -1}, "num_steps"), ({"q_reduce": "max"}, "q_reduce"),
    ({"temperature": 0.0}, "temperature"),
])
def test_config_validation(kwargs, match):
  with pytest.raises(ValueError, match=match):
    ao.ActionOptimizationConfig(**kwargs)


META_1D = types.ShapeMeta(observations={"state": types.ObsSpec((2,))}, action_dim=1)


def _fixed_policy(values):
  """Samples the given 1-D actions, in order, for every state."""
  values = jnp.asarray(values, jnp.float32)[None, :, None]
  return base.PolicyNetwork(
      init=None, loss=None, shape_meta=META_1D, kind="fixed",
      sample=lambda p, k, o, n, **kw: jnp.broadcast_to(values, (o["state"].shape[0], n, 1)))


def _two_member_critic():
  # Member 0: -(a - 0.6)^2, member 1: -4 a^2. Their mean peaks at a = 0.12;
  # their min at a = 0.2, where the two cross.
  def q_values(params, obs, actions):
    a = actions[..., 0]
    return jnp.stack([-(a - 0.6) ** 2, -4.0 * a ** 2])
  return base.CriticNetwork(init=None, q_values=q_values, loss=None, target_q=None,
                            action_grad=None, num_members=2, shape_meta=META_1D, kind="two")


@pytest.mark.parametrize("q_reduce, best", [("mean", 0.12), ("min", 0.2)])
def test_q_reduce_changes_which_action_wins(q_reduce, best):
  critic = _two_member_critic()
  # The global stage: of the candidates 0.12 and 0.2 each reduction picks its own.
  config = ao.ActionOptimizationConfig(num_samples=2, top_k=1, num_steps=0, q_reduce=q_reduce)
  actions, _ = ao.optimize_actions(_fixed_policy([0.12, 0.2]), None, critic, None,
                                   jax.random.PRNGKey(0), OBS, config)
  np.testing.assert_allclose(actions, best, atol=1e-6)
  # The local stage climbs the reduced Q: from 0.5 to that reduction's peak.
  config = ao.ActionOptimizationConfig(num_samples=1, top_k=1, num_steps=200, step_size=0.02,
                                       q_reduce=q_reduce)
  actions, _ = ao.optimize_actions(_fixed_policy([0.5]), None, critic, None,
                                   jax.random.PRNGKey(0), OBS, config)
  np.testing.assert_allclose(actions, best, atol=0.02)


def test_the_dataset_action_replaces_the_worst_candidate_only_when_asked():
  # Q = -(a - 0.6)^2 - 4 a^2 summed; candidates 0.1 (best), 0.3, -0.8 (worst).
  critic = _two_member_critic()
  policy = _fixed_policy([0.1, 0.3, -0.8])
  data = jnp.full((3, 1), -0.3)  # Worse than 0.1 and 0.3, better than -0.8.
  config = ao.ActionOptimizationConfig(num_samples=3, top_k=3, num_steps=0, temperature=1e3)

  def picks(config):
    keys = jax.random.split(jax.random.PRNGKey(0), 200)
    chosen = jax.vmap(lambda k: ao.optimize_actions(
        policy, None, critic, None, k, OBS, config, mode=ao.SOFTMAX,
        dataset_actions=data)[0][:, 0])(keys)
    return set(np.round(np.asarray(chosen, np.float64).ravel(), 4).tolist())

  # Near-uniform selection over what is left: the worst (-0.8) is gone, the data is in.
  assert picks(config) == {0.1, 0.3, -0.3}
  # Without replacement the dataset action is never a candidate.
  off = ao.ActionOptimizationConfig(num_samples=3, top_k=3, num_steps=0, temperature=1e3,
                                    replace_worst_with_dataset=False)
  assert picks(off) == {0.1, 0.3, -0.8}
  # And the argmax ignores an optimal dataset action when replacement is off.
  best = jnp.full((3, 1), 0.12)
  argmax_off, _ = ao.optimize_actions(policy, None, critic, None, jax.random.PRNGKey(0), OBS,
                                      off, dataset_actions=best)
  np.testing.assert_allclose(argmax_off, 0.1, atol=1e-6)
  argmax_on, _ = ao.optimize_actions(policy, None, critic, None, jax.random.PRNGKey(0), OBS,
                                     config, dataset_actions=best)
  np.testing.assert_allclose(argmax_on, 0.12, atol=1e-6)
