"""Small shape and reduction helpers shared by the policy and critic networks."""

from __future__ import annotations

from typing import Optional

import jax
import jax.numpy as jnp

from pa_rl import types


def flatten_actions(actions: jax.Array, shape_meta: types.ShapeMeta) -> jax.Array:
  """``[..., *action_shape]`` -> ``[..., flat_action_dim]``."""
  ndim = len(shape_meta.action_shape)
  if tuple(actions.shape[actions.ndim - ndim:]) != shape_meta.action_shape:
    raise ValueError(
        f"actions of shape {actions.shape} do not end in action_shape "
        f"{shape_meta.action_shape}")
  return actions.reshape(*actions.shape[:actions.ndim - ndim],
                         shape_meta.flat_action_dim)


def unflatten_actions(flat: jax.Array, shape_meta: types.ShapeMeta) -> jax.Array:
  """``[..., flat_action_dim]`` -> ``[..., *action_shape]``."""
  return flat.reshape(*flat.shape[:-1], *shape_meta.action_shape)


def observation_batch_size(obs: types.Observation) -> int:
  """The (static) leading batch size shared by every observation entry."""
  sizes = {leaf.shape[0] for leaf in jax.tree.leaves(obs)}
  if len(sizes) != 1:
    raise ValueError(f"observation entries disagree on the batch size: {sizes}")
  return sizes.pop()


def repeat_observation(obs: types.Observation, n: int) -> dict[str, jax.Array]:
  """Repeats each entry ``n`` times along the batch axis: ``[B, ...]`` ->
  ``[B * n, ...]``, sample-major within each batch element (the row order of
  ``actions.reshape(B * n, ...)`` for actions ``[B, n, ...]``)."""
  return jax.tree.map(lambda x: jnp.repeat(jnp.asarray(x), n, axis=0), dict(obs))


def weighted_mean(values: jax.Array, weights: Optional[jax.Array]) -> jax.Array:
  """Mean of ``values`` ``[B]``; with ``weights`` ``[B]``, the normalized
  weighted mean ``sum(w * v) / sum(w)`` (0 when every weight is 0)."""
  if weights is None:
    return jnp.mean(values)
  weights = jnp.asarray(weights, values.dtype)
  if weights.shape != values.shape:
    raise ValueError(
        f"weights of shape {weights.shape} do not match the batch {values.shape}")
  return jnp.sum(weights * values) / jnp.maximum(jnp.sum(weights), 1e-8)


def guide_samples(samples: jax.Array, obs: types.Observation, guidance_fn,
                  guidance_scale) -> jax.Array:
  """One guidance step after sampling, for policy classes without an
  iterative sampler: ``a <- clip(a + s * guidance_fn(obs, a), -1, 1)``.

  Args:
    samples: ``[B, N, *action_shape]``.
    obs: the ``[B, ...]`` observations (repeated N times for the call).
    guidance_fn: ``(obs, actions) -> dQ/da``, or None (no guidance).
    guidance_scale: s; a Python 0 skips the step at trace time.
  """
  if guidance_fn is None or (isinstance(guidance_scale, (int, float)) and guidance_scale == 0):
    return samples
  batch, num = samples.shape[:2]
  flat = samples.reshape(batch * num, *samples.shape[2:])
  obs_rep = {k: jnp.repeat(v, num, axis=0) for k, v in obs.items()}
  grad = guidance_fn(obs_rep, flat).reshape(samples.shape)
  return jnp.clip(samples + guidance_scale * grad, -1.0, 1.0)
