"""Shape contracts of every policy and critic on rich observations (an rgb
image, a low-dim state and a task id) with action chunks, under jit and vmap."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pa_rl.networks import registry

B, N = 3, 4
POLICY_CASES = [("gaussian", {}), ("diffusion", {}),
                ("autoregressive", {"dropout_rate": 0.1}), ("flow", {"dropout_rate": 0.1})]


@pytest.mark.parametrize("policy_type,extra", POLICY_CASES)
def test_policy_shapes(policy_type, extra, rich_meta, rich_observation,
                       tiny_policy_config):
  net, _ = registry.make_policy_network(
      policy_type, rich_meta, {**tiny_policy_config(policy_type), **extra})
  obs = rich_observation(rich_meta, B)
  params = jax.jit(net.init)(jax.random.PRNGKey(0), obs)
  key = jax.random.PRNGKey(1)

  stacked = jax.tree.map(lambda x: jnp.stack([x, x]), obs)
  keys = jax.random.split(key, 2)

  @jax.jit  # One compilation for every call keeps this test fast.
  def run(params, key, obs, stacked, keys):
    actions = net.sample(params, key, obs, N, temperature=0.5)
    greedy = net.sample(params, key, obs, N, deterministic=True)
    (loss, metrics), grads = jax.value_and_grad(net.loss, has_aux=True)(
        params, key, obs, actions[:, 0], jnp.ones((B,)))
    # vmap over an extra leading axis of observations and keys.
    mapped_actions = jax.vmap(lambda k, o: net.sample(params, k, o, N))(
        keys, stacked)
    mapped_loss = jax.vmap(lambda k, o: net.loss(params, k, o, actions[:, 0])[0])(
        keys, stacked)
    return actions, greedy, loss, metrics, grads, mapped_actions, mapped_loss

  actions, greedy, loss, metrics, grads, mapped_actions, mapped_loss = run(
      params, key, obs, stacked, keys)
  assert actions.shape == greedy.shape == (B, N, 3, 2)
  assert float(jnp.max(jnp.abs(actions))) <= 1.0
  assert float(jnp.max(jnp.abs(greedy))) <= 1.0
  assert loss.shape == () and bool(jnp.isfinite(loss))
  assert all(v.shape == () for v in metrics.values())
  assert jax.tree.structure(grads) == jax.tree.structure(params)
  assert mapped_actions.shape == (2, B, N, 3, 2)
  assert mapped_loss.shape == (2,)


def test_diffusion_guidance_sees_repeated_observations(rich_meta, rich_observation,
                                                       tiny_policy_config):
  net, _ = registry.make_policy_network("diffusion", rich_meta,
                                        tiny_policy_config("diffusion"))
  obs = rich_observation(rich_meta, B)
  params = jax.jit(net.init)(jax.random.PRNGKey(0), obs)
  seen = []

  def guidance_fn(obs_rep, actions):
    jax.debug.callback(lambda state, task: seen.append((state, task)),
                       obs_rep["state"], obs_rep["task_id"])
    assert obs_rep["image"].shape == (B * N, 8, 8, 3)
    assert actions.shape == (B * N, 3, 2)
    return -actions

  out = jax.jit(lambda p: net.sample(p, jax.random.PRNGKey(1), obs, N,
                                     guidance_fn=guidance_fn,
                                     guidance_scale=0.3))(params)
  assert out.shape == (B, N, 3, 2)
  assert len(seen) == 5  # once per denoising step
  # Row b * N + n of the repeated observation is batch element b.
  np.testing.assert_array_equal(seen[0][0], np.repeat(obs["state"], N, axis=0))
  np.testing.assert_array_equal(seen[0][1], np.repeat(obs["task_id"], N, axis=0))


def test_ddim_sampler_shapes(rich_meta, rich_observation, tiny_policy_config):
  config = {**tiny_policy_config("diffusion"), "sampler": "ddim",
            "ddim_steps": 2, "ddim_eta": 1.0, "beta_schedule": "linear"}
  net, _ = registry.make_policy_network("diffusion", rich_meta, config)
  obs = rich_observation(rich_meta, B)
  params = jax.jit(net.init)(jax.random.PRNGKey(0), obs)
  sample = jax.jit(net.sample, static_argnames=("num_samples", "deterministic"))
  actions = sample(params, jax.random.PRNGKey(1), obs, num_samples=N)
  assert actions.shape == (B, N, 3, 2)
  assert float(jnp.max(jnp.abs(actions))) <= 1.0


@pytest.mark.parametrize("critic_type", ["ensemble", "distributional"])
def test_critic_shapes(critic_type, rich_meta, rich_observation,
                       tiny_critic_config):
  net, config = registry.make_critic_network(
      critic_type, rich_meta, {**tiny_critic_config(critic_type),
                               "value_head": True})
  obs = rich_observation(rich_meta, B)
  actions = jax.random.uniform(jax.random.PRNGKey(2), (B, 3, 2), minval=-1,
                               maxval=1)
  params = jax.jit(net.init)(jax.random.PRNGKey(0), obs, actions)
  E = config.ensemble_size
  assert net.num_members == E and net.kind == critic_type

  stacked_obs = jax.tree.map(lambda x: jnp.stack([x, x]), obs)
  stacked_actions = jnp.stack([actions, -actions])
  keys = jax.random.split(jax.random.PRNGKey(4), 2)

  @jax.jit  # One compilation for every call keeps this test fast.
  def run(params, obs, actions, stacked_obs, stacked_actions, keys):
    return dict(
        q=net.q_values(params, obs, actions),
        target=net.target_q(params, keys[0], obs, actions),
        grad=net.action_grad(params, obs, actions, reduce="min"),
        loss=net.loss(params, obs, actions, jnp.zeros((B,))),
        value=net.value(params, obs),
        mapped_q=jax.vmap(net.q_values, in_axes=(None, 0, 0))(
            params, stacked_obs, stacked_actions),
        mapped_target=jax.vmap(net.target_q, in_axes=(None, 0, 0, 0))(
            params, keys, stacked_obs, stacked_actions))

  out = run(params, obs, actions, stacked_obs, stacked_actions, keys)
  assert out["q"].shape == (E, B) and out["target"].shape == (B,)
  assert out["grad"].shape == (B, 3, 2) and out["value"].shape == (B,)
  loss, metrics = out["loss"]
  assert loss.shape == () and bool(jnp.isfinite(loss))
  assert {"loss", "q_mean", "q_ensemble_std"} <= set(metrics)
  assert out["mapped_q"].shape == (2, E, B)
  assert out["mapped_target"].shape == (2, B)
  with pytest.raises(ValueError, match="target_q has shape"):
    jax.eval_shape(net.loss, params, obs, actions, jnp.zeros((B + 1,)))
