"""A DDPM diffusion policy (Ho et al., 2020) in the IDQL style
(Hansen-Estruch et al., 2023): epsilon prediction by an LN-ResNet conditioned
on the encoded observation and learned Fourier time features.

Sampling runs the reverse process with `lax.scan` over the denoising steps,
on all ``B * num_samples`` chains at once, with the observation encoded once.

Classifier guidance (Dhariwal & Nichol, 2021, Alg. 1 and 2). With a
``guidance_fn(obs, a) = grad_a Q(s, a)`` and ``guidance_scale = s > 0``:
  * DDPM: each reverse step's posterior mean is shifted,
    ``mu_t <- mu_t + s * sigma_t^2 * guidance_fn(obs, x_t)``, where
    ``sigma_t^2`` is the posterior variance ``beta~_t`` (zero at the last
    step, so the last step is unguided).
  * DDIM: the predicted noise is shifted,
    ``eps <- eps - s * sqrt(1 - alpha_bar_t) * guidance_fn(obs, x_t)``.
The learner keeps EMA parameters (``uses_ema=True``); the functions here use
whichever parameters they are given.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Optional

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np

from pa_rl import config_utils
from pa_rl import types
from pa_rl.networks import base
from pa_rl.networks import configs
from pa_rl.networks import iterative
from pa_rl.networks import torsos
from pa_rl.networks import utils


def beta_schedule(name: str, num_steps: int) -> np.ndarray:
  """Returns the forward-process variances ``beta_t`` ``[num_steps]``.

  Args:
    name: ``"cosine"`` (Nichol & Dhariwal, 2021, Eq. 17, s = 0.008) or
      ``"linear"`` (Ho et al., 2020: 1e-4 to 0.02 over 1000 steps, rescaled
      by ``1000 / num_steps`` as in Nichol & Dhariwal, 2021).
    num_steps: T.
  """
  if name == "cosine":
    s = 0.008
    t = np.arange(num_steps + 1, dtype=np.float64) / num_steps
    f = np.cos((t + s) / (1 + s) * np.pi / 2) ** 2
    betas = 1.0 - f[1:] / f[:-1]
  elif name == "linear":
    scale = 1000.0 / num_steps
    betas = np.linspace(scale * 1e-4, scale * 0.02, num_steps, dtype=np.float64)
  else:
    raise ValueError(f"beta_schedule={name!r} is unknown; choose one of: "
                     f"{', '.join(configs.BETA_SCHEDULES)}")
  return np.clip(betas, 1e-8, 0.999)


class FourierTimeEmbedding(hk.Module):
  """Learned random Fourier features of the step index followed by a small
  MLP (IDQL's ``FourierFeatures(learnable=True)`` and ``cond_encoder``)."""

  def __init__(self, dim: int, activation: str, name: Optional[str] = None):
    super().__init__(name=name)
    self._dim = dim
    self._activation = torsos.get_activation(activation)

  def __call__(self, t: jax.Array) -> jax.Array:
    w = hk.get_parameter("frequencies", (self._dim // 2, 1), jnp.float32,
                         init=hk.initializers.RandomNormal(0.2))
    f = 2.0 * math.pi * t.astype(jnp.float32)[..., None] @ w.T
    x = jnp.concatenate([jnp.cos(f), jnp.sin(f)], axis=-1)
    x = hk.Linear(2 * self._dim, name="linear_0")(x)
    return hk.Linear(self._dim, name="linear_1")(self._activation(x))


class NoisePredictor(hk.Module):
  """``eps_theta(obs_embedding, x_t, t)``: the LN-ResNet on the
  concatenation of the observation embedding, time features and x_t."""

  def __init__(self, config: configs.DiffusionPolicyConfig, action_dim: int,
               name: Optional[str] = "noise_predictor"):
    super().__init__(name=name)
    self._config = config
    self._action_dim = action_dim

  def __call__(self, obs_embedding, x_t, t, is_training: bool) -> jax.Array:
    c = self._config
    t_emb = FourierTimeEmbedding(c.time_dim, c.activation, name="time")(t)
    h = jnp.concatenate([obs_embedding, t_emb, x_t], axis=-1)
    return torsos.LNResNet(c.hidden_dim, c.num_blocks, self._action_dim,
                           dropout_rate=c.dropout_rate,
                           activation=c.activation, name="resnet")(h, is_training)


def make_diffusion_policy(
    shape_meta: types.ShapeMeta | Mapping[str, Any],
    config: configs.DiffusionPolicyConfig | Mapping[str, Any] | None = None,
) -> base.PolicyNetwork:
  """Builds the DDPM `PolicyNetwork` (``kind="diffusion"``, ``uses_ema``)."""
  shape_meta = types.as_shape_meta(shape_meta)
  config = config_utils.make_config(configs.DiffusionPolicyConfig, config)
  action_dim = shape_meta.flat_action_dim
  num_steps = config.num_diffusion_steps

  betas = beta_schedule(config.beta_schedule, num_steps)
  alphas = 1.0 - betas
  alpha_bars = np.cumprod(alphas)
  alpha_bars_prev = np.concatenate([[1.0], alpha_bars[:-1]])
  f32 = lambda x: jnp.asarray(x, jnp.float32)
  # Posterior q(x_{t-1} | x_t, x_0) (Ho et al., 2020, Eq. 6-7).
  post_var = f32(betas * (1.0 - alpha_bars_prev) / (1.0 - alpha_bars))
  post_c0 = f32(betas * np.sqrt(alpha_bars_prev) / (1.0 - alpha_bars))
  post_ct = f32((1.0 - alpha_bars_prev) * np.sqrt(alphas) / (1.0 - alpha_bars))
  sqrt_ab, sqrt_1m_ab = f32(np.sqrt(alpha_bars)), f32(np.sqrt(1 - alpha_bars))
  alpha_bars = f32(alpha_bars)

  init, encode_apply, denoise_apply = iterative.encoder_and_head(
      shape_meta, config, lambda: NoisePredictor(config, action_dim), jnp.int32)

  def _clip(x):
    return jnp.clip(x, -1.0, 1.0) if config.clip_sample else x

  def _ddpm_step(x, t, eps, grad, guidance_scale, noise, deterministic,
                 temperature):
    x0 = _clip((x - sqrt_1m_ab[t] * eps) / sqrt_ab[t])
    var = post_var[t]
    mean = post_c0[t] * x0 + post_ct[t] * x
    if grad is not None:
      mean = mean + guidance_scale * var * grad
    if deterministic:
      return mean
    return mean + temperature * jnp.sqrt(var) * noise

  def _ddim_step(x, t, t_prev, eps, grad, guidance_scale, noise, deterministic,
                 temperature):
    if grad is not None:
      eps = eps - guidance_scale * sqrt_1m_ab[t] * grad
    x0 = _clip((x - sqrt_1m_ab[t] * eps) / sqrt_ab[t])
    # Re-derive the noise from the clipped x_0 so both stay consistent.
    eps = (x - sqrt_ab[t] * x0) / sqrt_1m_ab[t]
    ab = alpha_bars[t]
    ab_prev = jnp.where(t_prev >= 0, alpha_bars[jnp.maximum(t_prev, 0)], 1.0)
    sigma = config.ddim_eta * jnp.sqrt((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev))
    x = jnp.sqrt(ab_prev) * x0 + jnp.sqrt(jnp.maximum(1 - ab_prev - sigma**2, 0.0)) * eps
    if deterministic:
      return x
    return x + temperature * sigma * noise

  if config.sampler == "ddim":
    num_ddim = config.ddim_steps or num_steps
    ts = np.unique(np.round(np.linspace(0, num_steps - 1, num_ddim)).astype(np.int32))
    ts = ts[::-1]
    step_t, step_prev = ts, np.concatenate([ts[1:], [-1]]).astype(np.int32)
  else:
    step_t = np.arange(num_steps - 1, -1, -1, dtype=np.int32)
    step_prev = step_t - 1

  def sample(params, key, obs, num_samples: int, *, deterministic: bool = False,
             temperature: float = 1.0, guidance_fn=None,
             guidance_scale: float = 0.0) -> jax.Array:
    """Runs the reverse process for ``[B, num_samples, *action_shape]``.

    ``num_samples``, ``deterministic`` and ``guidance_fn`` must be static
    under `jax.jit`; ``temperature`` and ``guidance_scale`` may be traced.
    ``temperature`` scales the noise injected at each reverse step (x_T is
    always standard normal); ``deterministic=True`` injects none (x_T is
    still drawn from ``key``, so the samples still differ). See the module
    docstring for how ``guidance_fn`` enters.
    """
    embedding = encode_apply(params, obs)
    batch = embedding.shape[0]
    rows = batch * num_samples
    embedding = jnp.repeat(embedding, num_samples, axis=0)
    guided = iterative.is_guided(guidance_fn, guidance_scale)
    obs_rep = utils.repeat_observation(obs, num_samples) if guided else None
    init_key, noise_key = jax.random.split(key)
    x_init = jax.random.normal(init_key, (rows, action_dim))
    noises = jax.random.normal(noise_key, (len(step_t), rows, action_dim))

    def denoise_rows(embedding, x_init, noises, obs_rep):
      def body(x, step):
        t, t_prev, noise = step
        eps = denoise_apply(params, None, embedding, x,
                            jnp.full((x.shape[0],), t, jnp.int32))
        grad = iterative.flat_guidance(guidance_fn, obs_rep, x, shape_meta) if guided else None
        if config.sampler == "ddim":
          x = _ddim_step(x, t, t_prev, eps, grad, guidance_scale, noise,
                         deterministic, temperature)
        else:
          x = _ddpm_step(x, t, eps, grad, guidance_scale, noise, deterministic,
                         temperature)
        return x, None

      x, _ = jax.lax.scan(body, x_init, (jnp.asarray(step_t), jnp.asarray(step_prev),
                                         noises))
      return x

    # Cache-sized chunks of rows, each through all the steps (the noise was
    # drawn for all rows above: the samples are the same as in one pass).
    x = iterative.map_row_chunks(denoise_rows, rows, config.hidden_dim,
                                 (embedding, x_init, noises, obs_rep), (0, 0, 1, 0))
    x = _clip(x)
    return utils.unflatten_actions(x.reshape(batch, num_samples, action_dim),
                                   shape_meta)

  def loss(params, key, obs, actions, weights: Optional[jax.Array] = None):
    """The simplified DDPM objective (Ho et al., 2020, Eq. 14):
    ``E_{t, eps} ||eps - eps_theta(sqrt(ab_t) a + sqrt(1 - ab_t) eps, t)||^2``
    with ``t`` uniform, averaged over action dimensions, weighted over the
    batch. Dropout uses ``key``."""
    x0 = utils.flatten_actions(jnp.asarray(actions, jnp.float32), shape_meta)
    batch = x0.shape[0]
    t_key, eps_key, dropout_key = jax.random.split(key, 3)
    t = jax.random.randint(t_key, (batch,), 0, num_steps)
    eps = jax.random.normal(eps_key, x0.shape)
    x_t = sqrt_ab[t][:, None] * x0 + sqrt_1m_ab[t][:, None] * eps
    embedding = encode_apply(params, obs)
    pred = denoise_apply(params, dropout_key, embedding, x_t, t, is_training=True)
    per_example = jnp.mean(jnp.square(pred - eps), axis=-1)
    value = utils.weighted_mean(per_example, weights)
    return value, {"loss": value, "mse": jnp.mean(per_example)}

  return base.PolicyNetwork(
      init=init, sample=sample, loss=loss, shape_meta=shape_meta,
      kind="diffusion", log_prob=None, uses_ema=True)
