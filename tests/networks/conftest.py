"""Shared fixtures for the network tests: tiny configs and a jitted trainer.

Helpers are served as fixtures (not imported) so the tests run under any
pytest import mode.
"""

import jax
import jax.numpy as jnp
import optax
import pytest

from pa_rl import types

# Small enough that every test compiles and trains in seconds on 2 CPU cores.
TINY_ENCODER = dict(image_channels=(4,), image_embedding_dim=8,
                    task_embedding_dim=4)
TINY_POLICY_CONFIGS = {
    "gaussian": dict(hidden_sizes=(32, 32)),
    "diffusion": dict(hidden_dim=64, num_blocks=1, time_dim=8,
                      dropout_rate=0.0),
    "autoregressive": dict(num_bins=32, num_layers=1, embed_dim=16,
                           num_heads=2, dropout_rate=0.0),
    "flow": dict(hidden_dim=64, num_blocks=1, time_dim=8, num_flow_steps=10),
}
TINY_CRITIC_CONFIGS = {
    "ensemble": dict(hidden_sizes=(32, 32), ensemble_size=4,
                     value_hidden_sizes=(16,)),
    "distributional": dict(hidden_sizes=(32, 32), ensemble_size=3,
                           value_hidden_sizes=(16,), num_bins=32,
                           v_min=-4.0, v_max=4.0),
}


def fit(loss_fn, params, num_steps, learning_rate=3e-3, seed=1):
  """Runs ``num_steps`` Adam steps on ``loss_fn(params, key) -> (loss, aux)``
  inside one jitted `lax.scan`; returns ``(params, losses)``."""
  optimizer = optax.adam(learning_rate)

  def step(carry, key):
    params, opt_state = carry
    (loss, _), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, key)
    updates, opt_state = optimizer.update(grads, opt_state)
    return (optax.apply_updates(params, updates), opt_state), loss

  @jax.jit
  def run(params, keys):
    (params, _), losses = jax.lax.scan(step, (params, optimizer.init(params)),
                                       keys)
    return params, losses

  return run(params, jax.random.split(jax.random.PRNGKey(seed), num_steps))


@pytest.fixture(scope="session")
def trainer():
  return fit


@pytest.fixture(scope="session")
def low_dim_meta():
  """One 2-D state, one 1-D action."""
  return types.ShapeMeta(observations={"state": types.ObsSpec((2,))},
                         action_dim=1)


@pytest.fixture(scope="session")
def rich_meta():
  """An 8x8 rgb image, a low-dim state, 3 task ids, chunks of 3 actions."""
  return types.ShapeMeta(
      observations={"image": types.ObsSpec((8, 8, 3), "rgb"),
                    "state": types.ObsSpec((5,))},
      action_dim=2, action_horizon=3, num_tasks=3)


def _rich_observation(shape_meta, batch, seed=0):
  """Random observations matching ``shape_meta`` (uint8 images, task ids)."""
  keys = jax.random.split(jax.random.PRNGKey(seed), 3)
  obs = {}
  for key, spec in shape_meta.observations.items():
    if spec.type == types.RGB:
      obs[key] = jax.random.randint(keys[0], (batch, *spec.shape), 0, 256
                                    ).astype(jnp.uint8)
    else:
      obs[key] = jax.random.normal(keys[1], (batch, *spec.shape))
  if shape_meta.num_tasks:
    obs[types.TASK_ID_KEY] = jax.random.randint(keys[2], (batch,), 0,
                                                shape_meta.num_tasks)
  return obs


def _bimodal_batch(batch=128):
  """One fixed observation; actions +0.8 and -0.8 with equal weight."""
  obs = {"state": jnp.ones((batch, 2))}
  actions = jnp.where(jnp.arange(batch) % 2 == 0, 0.8, -0.8)[:, None]
  return obs, actions


def _mass_near(samples, centre, radius=0.2):
  return float(jnp.mean(jnp.abs(samples - centre) < radius))


@pytest.fixture(scope="session")
def rich_observation():
  return _rich_observation


@pytest.fixture(scope="session")
def bimodal_batch():
  return _bimodal_batch


@pytest.fixture(scope="session")
def mass_near():
  return _mass_near


@pytest.fixture(scope="session")
def tiny_policy_config():
  """``tiny_policy_config(policy_type) -> dict`` of small network sizes."""
  return lambda name: {**TINY_ENCODER, **TINY_POLICY_CONFIGS[name]}


@pytest.fixture(scope="session")
def tiny_critic_config():
  """``tiny_critic_config(critic_type) -> dict`` of small network sizes."""
  return lambda name: {**TINY_ENCODER, **TINY_CRITIC_CONFIGS[name]}
