"""A tanh-squashed Gaussian policy (Haarnoja et al., 2018, SAC, App. C).

The torso maps the encoded observation to a mean and a state-dependent
log standard deviation (clipped to ``[log_std_min, log_std_max]``) of a
diagonal Gaussian over the pre-squash action ``u``; the action is
``a = tanh(u)``. Its density follows from the change of variables

  log pi(a|s) = log N(u; mu(s), sigma(s)^2) - sum_i log(1 - tanh(u_i)^2),

where ``log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u))`` is the
numerically stable form (no ``1 - a^2`` cancellation near the box edge).
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Optional

import haiku as hk
import jax
import jax.numpy as jnp

from pa_rl import config_utils
from pa_rl import types
from pa_rl.networks import base
from pa_rl.networks import configs
from pa_rl.networks import torsos
from pa_rl.networks import utils

# Dataset actions at exactly +-1 would have infinite pre-squash values.
ACTION_CLIP = 1.0 - 1e-6


def tanh_log_det_jacobian(u: jax.Array) -> jax.Array:
  """``log |d tanh(u) / du| = log(1 - tanh(u)^2)``, element-wise, stably."""
  return 2.0 * (math.log(2.0) - u - jax.nn.softplus(-2.0 * u))


def squashed_gaussian_log_prob(u: jax.Array, mean: jax.Array,
                               log_std: jax.Array) -> jax.Array:
  """Log density of ``tanh(u)`` where ``u ~ N(mean, exp(log_std)^2)``,
  summed over the last axis."""
  z = (u - mean) * jnp.exp(-log_std)
  gaussian = -0.5 * jnp.square(z) - log_std - 0.5 * math.log(2.0 * math.pi)
  return jnp.sum(gaussian - tanh_log_det_jacobian(u), axis=-1)


def make_gaussian_policy(
    shape_meta: types.ShapeMeta | Mapping[str, Any],
    config: configs.GaussianPolicyConfig | Mapping[str, Any] | None = None,
) -> base.PolicyNetwork:
  """Builds the tanh-Gaussian `PolicyNetwork`.

  Args:
    shape_meta: the data description (or its dict form).
    config: a `GaussianPolicyConfig`, a partial dict of its fields, or None.

  Returns:
    A `PolicyNetwork` with ``kind="gaussian"`` and a ``log_prob``.
  """
  shape_meta = types.as_shape_meta(shape_meta)
  config = config_utils.make_config(configs.GaussianPolicyConfig, config)
  action_dim = shape_meta.flat_action_dim

  def forward(obs):
    h = torsos.ObservationEncoder(shape_meta, config)(obs)
    h = torsos.MLP(config.hidden_sizes, activation=config.activation,
                   use_layer_norm=config.layer_norm, name="torso")(h)
    mean = hk.Linear(action_dim, name="mean")(h)
    log_std = hk.Linear(action_dim, name="log_std")(h)
    return mean, jnp.clip(log_std, config.log_std_min, config.log_std_max)

  transformed = hk.without_apply_rng(hk.transform(forward))

  def init(key: types.PRNGKey, obs: types.Observation) -> types.Params:
    return transformed.init(key, obs)

  def sample(params, key, obs, num_samples: int, *, deterministic: bool = False,
             temperature: float = 1.0, guidance_fn=None,
             guidance_scale: float = 0.0) -> jax.Array:
    """Draws ``[B, num_samples, *action_shape]`` actions.

    ``num_samples`` and ``deterministic`` must be static under `jax.jit`.
    ``temperature`` scales the standard deviation. With ``guidance_fn``
    and ``guidance_scale`` s > 0, each sample takes one step
    ``a <- clip(a + s * guidance_fn(obs, a))`` (`utils.guide_samples`).
    """
    mean, log_std = transformed.apply(params, obs)
    batch = mean.shape[0]
    if deterministic:
      u = jnp.broadcast_to(mean[:, None], (batch, num_samples, action_dim))
    else:
      eps = jax.random.normal(key, (batch, num_samples, action_dim), mean.dtype)
      u = mean[:, None] + temperature * jnp.exp(log_std)[:, None] * eps
    samples = utils.unflatten_actions(jnp.tanh(u), shape_meta)
    return utils.guide_samples(samples, obs, guidance_fn, guidance_scale)

  def log_prob(params, obs, actions) -> jax.Array:
    """``log pi(a|s)`` ``[B]`` of actions ``[B, *action_shape]`` in [-1, 1]."""
    mean, log_std = transformed.apply(params, obs)
    a = jnp.clip(utils.flatten_actions(actions, shape_meta),
                 -ACTION_CLIP, ACTION_CLIP)
    return squashed_gaussian_log_prob(jnp.arctanh(a), mean, log_std)

  def loss(params, key, obs, actions, weights: Optional[jax.Array] = None):
    """Negative (weighted) mean log-likelihood of the dataset actions.

    The ``entropy`` metric is a one-sample Monte-Carlo estimate
    ``-log pi(a~|s)`` with ``a~`` drawn from the policy with ``key``.
    """
    mean, log_std = transformed.apply(params, obs)
    a = jnp.clip(utils.flatten_actions(actions, shape_meta),
                 -ACTION_CLIP, ACTION_CLIP)
    log_probs = squashed_gaussian_log_prob(jnp.arctanh(a), mean, log_std)
    value = -utils.weighted_mean(log_probs, weights)
    u = mean + jnp.exp(log_std) * jax.random.normal(key, mean.shape, mean.dtype)
    entropy = -squashed_gaussian_log_prob(u, mean, log_std)
    metrics = {
        "loss": value,
        "log_prob": jnp.mean(log_probs),
        "entropy": jnp.mean(jax.lax.stop_gradient(entropy)),
        "std": jnp.mean(jnp.exp(log_std)),
    }
    return value, metrics

  return base.PolicyNetwork(
      init=init, sample=sample, loss=loss, shape_meta=shape_meta,
      kind="gaussian", log_prob=log_prob, uses_ema=False)
