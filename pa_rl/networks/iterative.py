"""What the iterative policy classes (diffusion, flow) share: an observation
encoder beside a head on ``(obs_embedding, x, t)``, the guidance gradient in
flat action units, and running many sampling chains in cache-sized chunks."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import haiku as hk
import jax
import jax.numpy as jnp

from pa_rl import types
from pa_rl.networks import torsos
from pa_rl.networks import utils

# Rows x hidden width per chunk when sampling many chains: the widest
# activation of a chunk (4 x hidden) then stays within the CPU caches.
SAMPLE_CHUNK_ELEMENTS = 256 * 1024


def encoder_and_head(shape_meta: types.ShapeMeta, config: Any,
                     make_head: Callable[[], hk.Module], t_dtype) -> tuple[Callable, ...]:
  """``(init(key, obs), encode(params, obs), head(params, rng, embedding, x, t,
  is_training=False))``: the encoder runs once per observation, the head once
  per chain and step."""
  action_dim = shape_meta.flat_action_dim

  def fns():
    encoder = torsos.ObservationEncoder(shape_meta, config)
    head = make_head()

    def template(obs, x, t):
      return head(encoder(obs), x, t, is_training=False)

    def apply_head(obs_embedding, x, t, is_training=False):
      return head(obs_embedding, x, t, is_training)

    return template, (lambda obs: encoder(obs), apply_head)

  transformed = hk.multi_transform(fns)
  encode_apply, head_apply = transformed.apply

  def init(key: types.PRNGKey, obs: types.Observation) -> types.Params:
    batch = utils.observation_batch_size(obs)
    return transformed.init(key, obs, jnp.zeros((batch, action_dim)),
                            jnp.zeros((batch,), t_dtype))

  return init, (lambda params, obs: encode_apply(params, None, obs)), head_apply


def flat_guidance(guidance_fn, obs_rep, x: jax.Array, shape_meta: types.ShapeMeta) -> jax.Array:
  """``guidance_fn`` (which sees actions in their own shape) on flat rows ``x``."""
  grad = guidance_fn(obs_rep, utils.unflatten_actions(x, shape_meta))
  return utils.flatten_actions(jnp.asarray(grad, x.dtype), shape_meta)


def is_guided(guidance_fn, guidance_scale) -> bool:
  """Whether sampling must call ``guidance_fn`` (a static zero scale skips it)."""
  return guidance_fn is not None and not (
      isinstance(guidance_scale, (int, float)) and guidance_scale == 0)


def num_row_chunks(rows: int, hidden_dim: int) -> int:
  """The fewest chunks (a divisor of ``rows``) of at most
  `SAMPLE_CHUNK_ELEMENTS` hidden units each."""
  for chunks in range(1, rows + 1):
    if rows % chunks == 0 and (rows // chunks) * hidden_dim <= SAMPLE_CHUNK_ELEMENTS:
      return chunks
  return rows


def map_row_chunks(run: Callable[..., jax.Array], rows: int, hidden_dim: int,
                   args: Sequence[Any], row_axes: Sequence[int]) -> jax.Array:
  """``run(*args) -> [rows, D]`` over cache-sized chunks of the rows.

  Every row is its own chain, so the result equals one pass over all rows.

  Args:
    run: the sampler on some rows.
    rows: how many rows ``args`` hold.
    hidden_dim: the network's width (sets the chunk size).
    args: pytrees (None allowed) whose leaves hold the rows on ``row_axes``.
    row_axes: per argument, the axis of its leaves that indexes rows.
  """
  chunks = num_row_chunks(rows, hidden_dim)
  if chunks == 1:
    return run(*args)

  def split(v, axis):
    v = v.reshape(*v.shape[:axis], chunks, v.shape[axis] // chunks, *v.shape[axis + 1:])
    return jnp.moveaxis(v, axis, 0)

  parts = tuple(jax.tree.map(lambda v, a=axis: split(v, a), arg)
                for arg, axis in zip(args, row_axes))
  out = jax.lax.map(lambda chunk: run(*chunk), parts)
  return out.reshape(rows, *out.shape[2:])
