"""An autoregressive transformer policy over discretized action dimensions.

Each of the ``flat_action_dim`` dimensions is cut into ``num_bins`` uniform
bins over [-1, 1] and becomes one token (the tokenization of RT-1, Brohan et
al., 2022, and Q-Transformer, Chebotar et al., 2023). A causal transformer
(Vaswani et al., 2017, pre-LayerNorm blocks) reads the observation embedding
as its first token and the tokens of dimensions ``0..i-1`` after it, and
predicts dimension ``i``; training is teacher-forced cross-entropy, sampling
decodes one dimension at a time in a `lax.fori_loop`. A continuous action is
the centre of each chosen bin.
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
from pa_rl.networks import torsos
from pa_rl.networks import utils


def bin_actions(actions: jax.Array, num_bins: int) -> jax.Array:
  """Uniform bin index in ``[0, num_bins)`` of each value in [-1, 1]."""
  idx = jnp.floor((actions + 1.0) * 0.5 * num_bins).astype(jnp.int32)
  return jnp.clip(idx, 0, num_bins - 1)


def bin_centres(tokens: jax.Array, num_bins: int) -> jax.Array:
  """The centre in [-1, 1] of each bin index."""
  return -1.0 + (tokens.astype(jnp.float32) + 0.5) * (2.0 / num_bins)


class ActionTransformer(hk.Module):
  """Causal transformer: ``(obs_embedding [R, F], tokens [R, D]) ->
  logits [R, D, num_bins]`` where position ``i`` sees the observation and
  tokens ``< i`` only."""

  def __init__(self, config: configs.AutoregressivePolicyConfig, action_dim: int,
               name: Optional[str] = "action_transformer"):
    super().__init__(name=name)
    self._config = config
    self._action_dim = action_dim

  def __call__(self, obs_embedding, tokens, is_training: bool) -> jax.Array:
    c = self._config
    width = c.embed_dim
    dropout = c.dropout_rate if is_training else 0.0
    obs_token = hk.Linear(width, name="obs_projection")(obs_embedding)[:, None]
    previous = hk.Embed(c.num_bins, width, name="token_embedding")(tokens[:, :-1])
    x = jnp.concatenate([obs_token, previous], axis=1)
    x = x + hk.get_parameter("position_embedding", (self._action_dim, width),
                             init=hk.initializers.TruncatedNormal(0.02))
    mask = jnp.tril(jnp.ones((self._action_dim, self._action_dim), bool))[None, None]
    init = hk.initializers.VarianceScaling(2.0 / c.num_layers)
    for i in range(c.num_layers):
      h = torsos.layer_norm(name=f"block_{i}_ln_0")(x)
      h = hk.MultiHeadAttention(c.num_heads, width // c.num_heads, w_init=init,
                                model_size=width, name=f"block_{i}_attention")(
                                    h, h, h, mask=mask)
      if dropout:
        h = hk.dropout(hk.next_rng_key(), dropout, h)
      x = x + h
      h = torsos.layer_norm(name=f"block_{i}_ln_1")(x)
      h = hk.Linear(c.mlp_ratio * width, name=f"block_{i}_mlp_0")(h)
      h = hk.Linear(width, w_init=init, name=f"block_{i}_mlp_1")(jax.nn.gelu(h))
      if dropout:
        h = hk.dropout(hk.next_rng_key(), dropout, h)
      x = x + h
    x = torsos.layer_norm(name="final_ln")(x)
    return hk.Linear(c.num_bins, name="logits")(x)


def make_autoregressive_policy(
    shape_meta: types.ShapeMeta | Mapping[str, Any],
    config: configs.AutoregressivePolicyConfig | Mapping[str, Any] | None = None,
) -> base.PolicyNetwork:
  """Builds the autoregressive `PolicyNetwork` (``kind="autoregressive"``)."""
  shape_meta = types.as_shape_meta(shape_meta)
  config = config_utils.make_config(configs.AutoregressivePolicyConfig, config)
  action_dim = shape_meta.flat_action_dim
  num_bins = config.num_bins

  def fns():
    encoder = torsos.ObservationEncoder(shape_meta, config)
    transformer = ActionTransformer(config, action_dim)

    def template(obs, tokens):
      return transformer(encoder(obs), tokens, is_training=False)

    def logits(obs_embedding, tokens, is_training=False):
      return transformer(obs_embedding, tokens, is_training)

    return template, (lambda obs: encoder(obs), logits)

  transformed = hk.multi_transform(fns)
  encode_apply, logits_apply = transformed.apply

  def init(key: types.PRNGKey, obs: types.Observation) -> types.Params:
    batch = utils.observation_batch_size(obs)
    return transformed.init(key, obs, jnp.zeros((batch, action_dim), jnp.int32))

  def sample(params, key, obs, num_samples: int, *, deterministic: bool = False,
             temperature: float = 1.0, guidance_fn=None,
             guidance_scale: float = 0.0) -> jax.Array:
    """Decodes ``[B, num_samples, *action_shape]`` actions token by token.

    ``num_samples`` and ``deterministic`` must be static under `jax.jit`.
    Each token is drawn from ``softmax(logits / temperature)``, or the argmax
    when ``deterministic``. With ``guidance_fn`` and ``guidance_scale``
    s > 0, the decoded actions take one step ``a <- clip(a + s * dQ/da)``
    (`utils.guide_samples`). Each step reruns the full causal pass,
    which costs ``flat_action_dim`` passes but keeps the code cache-free.
    """
    embedding = encode_apply(params, None, obs)
    batch = embedding.shape[0]
    rows = batch * num_samples
    embedding = jnp.repeat(embedding, num_samples, axis=0)
    inv_temperature = 1.0 / jnp.maximum(jnp.asarray(temperature, jnp.float32),
                                        1e-6)

    def body(i, tokens):
      logits = logits_apply(params, None, embedding, tokens)
      logits_i = jax.lax.dynamic_index_in_dim(logits, i, axis=1, keepdims=False)
      if deterministic:
        token = jnp.argmax(logits_i, axis=-1)
      else:
        token = jax.random.categorical(jax.random.fold_in(key, i),
                                       logits_i * inv_temperature, axis=-1)
      return jax.lax.dynamic_update_index_in_dim(
          tokens, token.astype(jnp.int32)[:, None], i, axis=1)

    tokens = jax.lax.fori_loop(0, action_dim, body,
                               jnp.zeros((rows, action_dim), jnp.int32))
    actions = bin_centres(tokens, num_bins).reshape(batch, num_samples, action_dim)
    return utils.guide_samples(utils.unflatten_actions(actions, shape_meta), obs,
                               guidance_fn, guidance_scale)

  def loss(params, key, obs, actions, weights: Optional[jax.Array] = None):
    """Teacher-forced token cross-entropy, averaged over dimensions and
    weighted over the batch (maximum likelihood of the binned actions)."""
    targets = bin_actions(utils.flatten_actions(jnp.asarray(actions), shape_meta),
                          num_bins)
    embedding = encode_apply(params, None, obs)
    logits = logits_apply(params, key, embedding, targets, is_training=True)
    log_probs = jax.nn.log_softmax(logits, axis=-1)
    nll = -jnp.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
    per_example = jnp.mean(nll, axis=-1)
    value = utils.weighted_mean(per_example, weights)
    accuracy = jnp.mean(jnp.argmax(logits, axis=-1) == targets)
    return value, {"loss": value, "token_accuracy": accuracy}

  return base.PolicyNetwork(
      init=init, sample=sample, loss=loss, shape_meta=shape_meta,
      kind="autoregressive", log_prob=None, uses_ema=False)
