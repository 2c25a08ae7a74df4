"""Haiku torsos shared by the policies and critics: an MLP, the IDQL
LayerNorm-ResNet, a small conv image encoder, and the observation encoder that
turns a dict observation (described by a `ShapeMeta`) into one feature vector.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import haiku as hk
import jax
import jax.numpy as jnp

from pa_rl import types
from pa_rl.networks import configs


def _mish(x: jax.Array) -> jax.Array:
  return x * jnp.tanh(jax.nn.softplus(x))


_ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "relu": jax.nn.relu,
    "swish": jax.nn.swish,
    "gelu": jax.nn.gelu,
    "elu": jax.nn.elu,
    "tanh": jnp.tanh,
    "mish": _mish,
}
assert set(_ACTIVATIONS) == set(configs.ACTIVATIONS)


def get_activation(name: str) -> Callable[[jax.Array], jax.Array]:
  """Returns the activation called ``name`` (one of `configs.ACTIVATIONS`)."""
  try:
    return _ACTIVATIONS[name]
  except KeyError:
    raise ValueError(f"activation={name!r} is unknown; choose one of: "
                     f"{', '.join(sorted(_ACTIVATIONS))}") from None


def layer_norm(name: Optional[str] = None) -> hk.LayerNorm:
  return hk.LayerNorm(axis=-1, create_scale=True, create_offset=True, name=name)


class MLP(hk.Module):
  """Linear layers, each optionally followed by LayerNorm, then the
  activation; an optional final linear output layer without activation.

  LayerNorm after every hidden layer is what keeps offline-to-online critics
  from diverging (Ball et al., 2023, RLPD, Sec. 3.2).
  """

  def __init__(self, hidden_sizes: Sequence[int], *, activation: str = "relu",
               use_layer_norm: bool = False, output_size: Optional[int] = None,
               name: Optional[str] = None):
    super().__init__(name=name)
    self._hidden_sizes = tuple(hidden_sizes)
    self._activation = get_activation(activation)
    self._use_layer_norm = use_layer_norm
    self._output_size = output_size

  def __call__(self, x: jax.Array) -> jax.Array:
    for i, size in enumerate(self._hidden_sizes):
      x = hk.Linear(size, name=f"linear_{i}")(x)
      if self._use_layer_norm:
        x = layer_norm(name=f"layer_norm_{i}")(x)
      x = self._activation(x)
    if self._output_size is not None:
      x = hk.Linear(self._output_size, name="output")(x)
    return x


class LNResNet(hk.Module):
  """The LayerNorm residual MLP of IDQL (Hansen-Estruch et al., 2023,
  App. B): a linear stem, blocks ``x + W2 act(W1 LN(dropout(x)))`` with a 4x
  wide hidden layer, then ``act`` and a linear output."""

  def __init__(self, hidden_dim: int, num_blocks: int, output_size: int, *,
               dropout_rate: float = 0.0, activation: str = "swish",
               name: Optional[str] = None):
    super().__init__(name=name)
    self._hidden_dim = hidden_dim
    self._num_blocks = num_blocks
    self._output_size = output_size
    self._dropout_rate = dropout_rate
    self._activation = get_activation(activation)

  def __call__(self, x: jax.Array, is_training: bool = False) -> jax.Array:
    x = hk.Linear(self._hidden_dim, name="stem")(x)
    for i in range(self._num_blocks):
      residual = x
      if is_training and self._dropout_rate > 0:
        x = hk.dropout(hk.next_rng_key(), self._dropout_rate, x)
      x = layer_norm(name=f"block_{i}_layer_norm")(x)
      x = hk.Linear(4 * self._hidden_dim, name=f"block_{i}_linear_0")(x)
      x = self._activation(x)
      x = hk.Linear(self._hidden_dim, name=f"block_{i}_linear_1")(x)
      x = residual + x
    x = self._activation(x)
    return hk.Linear(self._output_size, name="output")(x)


class ConvEncoder(hk.Module):
  """A small image encoder: uint8 ``[N, H, W, C]`` scaled to [0, 1], 3x3
  stride-2 ReLU convolutions, then linear -> LayerNorm -> tanh (the DrQ-v2
  projection, Yarats et al., 2021)."""

  def __init__(self, channels: Sequence[int], embedding_dim: int,
               name: Optional[str] = None):
    super().__init__(name=name)
    self._channels = tuple(channels)
    self._embedding_dim = embedding_dim

  def __call__(self, image: jax.Array) -> jax.Array:
    x = image.astype(jnp.float32) / 255.0
    for i, channels in enumerate(self._channels):
      x = hk.Conv2D(channels, kernel_shape=3, stride=2, padding="SAME",
                    name=f"conv_{i}")(x)
      x = jax.nn.relu(x)
    x = x.reshape(x.shape[0], -1)
    x = hk.Linear(self._embedding_dim, name="projection")(x)
    return jnp.tanh(layer_norm(name="projection_layer_norm")(x))


class ObservationEncoder(hk.Module):
  """Encodes a dict observation into one feature vector.

  Low-dim entries (already normalized floats) are flattened and concatenated
  as they are; every ``rgb`` entry goes through its own `ConvEncoder`; when
  ``shape_meta.num_tasks > 0`` a learned embedding of ``obs["task_id"]`` is
  added. The pieces are concatenated in sorted key order, so the result does
  not depend on dict order. Any number of leading batch axes is accepted.
  """

  def __init__(self, shape_meta: types.ShapeMeta, config: configs.EncoderConfig,
               name: Optional[str] = "observation_encoder"):
    super().__init__(name=name)
    self._shape_meta = shape_meta
    self._config = config

  def __call__(self, obs: types.Observation) -> jax.Array:
    lead = None
    features = []
    for key in sorted(self._shape_meta.observations):
      spec = self._shape_meta.observations[key]
      if key not in obs:
        raise KeyError(f"observation has no key {key!r}; shape_meta lists "
                       f"{sorted(self._shape_meta.observations)}")
      x = jnp.asarray(obs[key])
      this_lead = x.shape[:x.ndim - len(spec.shape)]
      if tuple(x.shape[len(this_lead):]) != spec.shape:
        raise ValueError(f"observation {key!r} has shape {x.shape}; expected "
                         f"[..., {', '.join(map(str, spec.shape))}]")
      if lead is not None and this_lead != lead:
        raise ValueError(f"observation {key!r} has batch axes {this_lead}; "
                         f"other entries have {lead}")
      lead = this_lead
      x = x.reshape(-1, *spec.shape)
      if spec.type == types.RGB:
        x = ConvEncoder(self._config.image_channels,
                        self._config.image_embedding_dim,
                        name=f"image_encoder_{key}")(x)
      else:
        x = x.astype(jnp.float32).reshape(x.shape[0], -1)
      features.append(x)
    if self._shape_meta.num_tasks:
      if types.TASK_ID_KEY not in obs:
        raise KeyError(f"shape_meta.num_tasks={self._shape_meta.num_tasks} "
                       f"but the observation has no {types.TASK_ID_KEY!r}")
      task_id = jnp.asarray(obs[types.TASK_ID_KEY], jnp.int32).reshape(-1)
      features.append(hk.Embed(self._shape_meta.num_tasks,
                               self._config.task_embedding_dim,
                               name="task_embedding")(task_id))
    x = jnp.concatenate(features, axis=-1)
    return x.reshape(*lead, x.shape[-1])
