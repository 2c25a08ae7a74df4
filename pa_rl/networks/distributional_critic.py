"""A distributional Q-ensemble trained by cross-entropy on a categorical
return distribution: classification instead of regression (Farebrother et al.,
2024, "Stop Regressing").

The support ``[v_min, v_max]`` is cut into ``num_bins`` equal bins; each
member outputs logits over them and its Q is the expected bin centre. The
scalar TD target becomes a target distribution by either
  * ``"hl_gauss"`` (Imani & White, 2018; Farebrother et al., 2024, Sec. 3.1):
    the mass of ``N(target, sigma^2)`` in each bin, from CDF differences,
    renormalized over the support, with ``sigma = sigma_ratio * bin width``
    (0.75 by default); or
  * ``"c51"``: the two-hot projection of the scalar onto the two neighbouring
    bin centres (the C51 projection of a Dirac, Bellemare et al., 2017).
Members, the random-subset target and the value head (a scalar V(s)
regression head, as IQL's expectile loss needs) are shared with the scalar
ensemble (`ensemble_critic.build_critic_network`).
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import jax.scipy.special

from pa_rl import config_utils
from pa_rl import types
from pa_rl.networks import base
from pa_rl.networks import configs
from pa_rl.networks import ensemble_critic


def hl_gauss_target(target: jax.Array, support: jax.Array,
                    sigma: float | jax.Array) -> jax.Array:
  """The HL-Gauss target distribution.

  Args:
    target: scalar targets, any shape ``[...]``; clipped to the support.
    support: the bin *edges*, ``[num_bins + 1]``, increasing.
    sigma: standard deviation of the Gaussian smoothing.

  Returns:
    ``[..., num_bins]`` probabilities: ``Phi((e_{i+1} - y) / sigma) -
    Phi((e_i - y) / sigma)``, divided by their sum over the support.
  """
  support = jnp.asarray(support, jnp.float32)
  y = jnp.clip(jnp.asarray(target, jnp.float32), support[0], support[-1])
  cdf = jax.scipy.special.erf(
      (support - y[..., None]) / (jnp.sqrt(2.0) * sigma))
  mass = cdf[..., 1:] - cdf[..., :-1]
  return mass / (cdf[..., -1:] - cdf[..., :1])


def two_hot_target(target: jax.Array, atoms: jax.Array) -> jax.Array:
  """The two-hot (C51) projection of scalars onto uniformly spaced atoms.

  Args:
    target: scalar targets ``[...]``; clipped to ``[atoms[0], atoms[-1]]``.
    atoms: ``[K]`` uniformly spaced, increasing atom locations (K >= 2).

  Returns:
    ``[..., K]`` probabilities on the two atoms around each target whose
    mean is the target.
  """
  atoms = jnp.asarray(atoms, jnp.float32)
  num_atoms = atoms.shape[0]
  y = jnp.clip(jnp.asarray(target, jnp.float32), atoms[0], atoms[-1])
  position = (y - atoms[0]) / (atoms[1] - atoms[0])
  lower = jnp.clip(jnp.floor(position), 0, num_atoms - 2)
  upper_weight = position - lower
  lower = lower.astype(jnp.int32)
  return (jax.nn.one_hot(lower, num_atoms) * (1.0 - upper_weight)[..., None]
          + jax.nn.one_hot(lower + 1, num_atoms) * upper_weight[..., None])


def cross_entropy(target_probs: jax.Array, logits: jax.Array) -> jax.Array:
  """``-sum_i p_i log softmax(logits)_i`` over the last axis."""
  return -jnp.sum(target_probs * jax.nn.log_softmax(logits, axis=-1), axis=-1)


def support_edges(config: configs.DistributionalCriticConfig) -> jax.Array:
  """The ``num_bins + 1`` bin edges of the configured support."""
  return jnp.linspace(config.v_min, config.v_max, config.num_bins + 1)


def make_distributional_critic(
    shape_meta: types.ShapeMeta | Mapping[str, Any],
    config: configs.DistributionalCriticConfig | Mapping[str, Any] | None = None,
) -> base.CriticNetwork:
  """Builds the categorical Q-ensemble `CriticNetwork`
  (``kind="distributional"``)."""
  shape_meta = types.as_shape_meta(shape_meta)
  config = config_utils.make_config(configs.DistributionalCriticConfig, config)
  edges = support_edges(config)
  centres = 0.5 * (edges[1:] + edges[:-1])
  sigma = config.sigma_ratio * (config.v_max - config.v_min) / config.num_bins

  def head_to_q(logits):
    return jnp.sum(jax.nn.softmax(logits, axis=-1) * centres, axis=-1)

  def member_loss(logits, target):
    if config.projection == "hl_gauss":
      probs = hl_gauss_target(target, edges, sigma)
    else:
      probs = two_hot_target(target, centres)
    return cross_entropy(probs[None], logits)

  def extra_metrics(logits):
    probs = jax.nn.softmax(logits, axis=-1)
    entropy = -jnp.sum(probs * jax.nn.log_softmax(logits, axis=-1), axis=-1)
    return {"distribution_entropy": jnp.mean(entropy) / math.log(config.num_bins)}

  return ensemble_critic.build_critic_network(
      shape_meta, config, kind="distributional", head_size=config.num_bins,
      head_to_q=head_to_q, member_loss=member_loss, extra_metrics=extra_metrics)
