"""A conditional flow-matching policy (Lipman et al., 2023; Liu et al., 2023).

The straight path from noise to action, ``x_t = (1 - t) x_0 + t a`` with
``x_0 ~ N(0, I)`` and ``t ~ U[0, 1]``, has velocity ``a - x_0``; the network
``v_theta(s, x_t, t)`` regresses it (the conditional flow-matching loss, Lipman
et al., 2023, Eq. 23 with sigma_min = 0). Sampling integrates
``dx/dt = v_theta(s, x, t)`` from ``t = 0`` to ``1`` with K Euler steps, all
``B * num_samples`` chains at once, the observation encoded once.

The ODE injects no noise: the samples' randomness is ``x_0`` alone, whose
standard deviation ``temperature`` scales. ``deterministic=True`` changes
nothing (as for diffusion, ``x_0`` is still drawn, so samples differ).

Guidance (``guidance_fn(obs, a) = grad_a Q(s, a)``, ``guidance_scale = s``):
each Euler step follows ``v + s * guidance_fn(obs, x_t)``, so over the unit
interval a sample moves ``s * dQ/da`` further up the critic, the same size
of step as the other classes take.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

import haiku as hk
import jax
import jax.numpy as jnp

from pa_rl import config_utils
from pa_rl import types
from pa_rl.networks import base
from pa_rl.networks import configs
from pa_rl.networks import diffusion
from pa_rl.networks import iterative
from pa_rl.networks import torsos
from pa_rl.networks import utils


class VelocityField(hk.Module):
  """``v_theta(obs_embedding, x_t, t)``: the LN-ResNet on the observation
  embedding, Fourier features of t and x_t."""

  def __init__(self, config: configs.FlowPolicyConfig, action_dim: int,
               name: Optional[str] = "velocity"):
    super().__init__(name=name)
    self._config = config
    self._action_dim = action_dim

  def __call__(self, obs_embedding, x_t, t, is_training: bool) -> jax.Array:
    c = self._config
    t_emb = diffusion.FourierTimeEmbedding(c.time_dim, c.activation, name="time")(
        t * c.time_scale)
    h = jnp.concatenate([obs_embedding, t_emb, x_t], axis=-1)
    return torsos.LNResNet(c.hidden_dim, c.num_blocks, self._action_dim,
                           dropout_rate=c.dropout_rate, activation=c.activation,
                           name="resnet")(h, is_training)


def make_flow_policy(
    shape_meta: types.ShapeMeta | Mapping[str, Any],
    config: configs.FlowPolicyConfig | Mapping[str, Any] | None = None,
) -> base.PolicyNetwork:
  """Builds the flow-matching `PolicyNetwork` (``kind="flow"``)."""
  shape_meta = types.as_shape_meta(shape_meta)
  config = config_utils.make_config(configs.FlowPolicyConfig, config)
  action_dim = shape_meta.flat_action_dim
  num_steps = config.num_flow_steps

  init, encode_apply, velocity_apply = iterative.encoder_and_head(
      shape_meta, config, lambda: VelocityField(config, action_dim), jnp.float32)

  def _clip(x):
    return jnp.clip(x, -1.0, 1.0) if config.clip_sample else x

  def sample(params, key, obs, num_samples: int, *, deterministic: bool = False,
             temperature: float = 1.0, guidance_fn=None,
             guidance_scale: float = 0.0) -> jax.Array:
    """K Euler steps of the learned ODE for ``[B, num_samples, *action_shape]``.

    ``num_samples``, ``deterministic`` and ``guidance_fn`` must be static
    under `jax.jit`; ``temperature`` and ``guidance_scale`` may be traced.
    """
    del deterministic  # The ODE adds no noise (module docstring).
    embedding = encode_apply(params, obs)
    batch = embedding.shape[0]
    rows = batch * num_samples
    embedding = jnp.repeat(embedding, num_samples, axis=0)
    guided = iterative.is_guided(guidance_fn, guidance_scale)
    obs_rep = utils.repeat_observation(obs, num_samples) if guided else None
    x_init = temperature * jax.random.normal(key, (rows, action_dim))
    dt = 1.0 / num_steps

    def integrate(embedding, x_init, obs_rep):
      def body(x, k):
        t = jnp.full((x.shape[0],), k * dt, jnp.float32)
        v = velocity_apply(params, None, embedding, x, t)
        if guided:
          v = v + guidance_scale * iterative.flat_guidance(guidance_fn, obs_rep, x, shape_meta)
        return x + dt * v, None

      x, _ = jax.lax.scan(body, x_init, jnp.arange(num_steps, dtype=jnp.float32))
      return x

    # Cache-sized chunks of rows: the same result as one pass.
    x = iterative.map_row_chunks(integrate, rows, config.hidden_dim,
                                 (embedding, x_init, obs_rep), (0, 0, 0))
    x = _clip(x)
    return utils.unflatten_actions(x.reshape(batch, num_samples, action_dim), shape_meta)

  def loss(params, key, obs, actions, weights: Optional[jax.Array] = None):
    """Conditional flow matching: ``E_{t, x_0} ||v_theta(s, x_t, t) - (a - x_0)||^2``
    on the straight path, averaged over action dimensions, weighted over the
    batch. Dropout uses ``key``."""
    x1 = utils.flatten_actions(jnp.asarray(actions, jnp.float32), shape_meta)
    batch = x1.shape[0]
    t_key, noise_key, dropout_key = jax.random.split(key, 3)
    t = jax.random.uniform(t_key, (batch,))
    x0 = jax.random.normal(noise_key, x1.shape)
    x_t = (1.0 - t)[:, None] * x0 + t[:, None] * x1
    embedding = encode_apply(params, obs)
    pred = velocity_apply(params, dropout_key, embedding, x_t, t, is_training=True)
    per_example = jnp.mean(jnp.square(pred - (x1 - x0)), axis=-1)
    value = utils.weighted_mean(per_example, weights)
    return value, {"loss": value, "mse": jnp.mean(per_example)}

  return base.PolicyNetwork(
      init=init, sample=sample, loss=loss, shape_meta=shape_meta,
      kind="flow", log_prob=None, uses_ema=config.use_ema)
