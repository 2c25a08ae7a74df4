"""Dataclass configs of every policy and critic network.

Each config validates itself in ``__post_init__`` so that a bad value fails
when the config is built (from a dict, a gin binding or by hand), naming the
field and the valid range, rather than deep inside a jitted function.
Defaults follow the PA-RL reference implementation
(MaxSobolMark/PolicyAgnosticRL, ``configs/base_config.py``) where it has one.

This module imports no Haiku, so agents and binaries can read configs freely.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Optional

import numpy as np

ACTIVATIONS = ("relu", "swish", "gelu", "elu", "tanh", "mish")
BETA_SCHEDULES = ("cosine", "linear")
SAMPLERS = ("ddpm", "ddim")
PROJECTIONS = ("hl_gauss", "c51")


def _fail(config, name, requirement):
  value = getattr(config, name)
  raise ValueError(
      f"{type(config).__name__}.{name} must be {requirement}; got {value!r}")


def _check_int(config, name, minimum):
  value = getattr(config, name)
  if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
      or value < minimum):
    _fail(config, name, f"an int >= {minimum}")
  setattr(config, name, int(value))


def _check_sizes(config, name, allow_empty=False):
  value = getattr(config, name)
  # A string is a sequence too ("64" would become (6, 4)); 2.5 must not become 2.
  if not isinstance(value, (tuple, list, np.ndarray)) or any(
      isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral)
      for v in value):
    _fail(config, name, "a sequence of positive ints")
  sizes = tuple(int(v) for v in value)
  if (not sizes and not allow_empty) or any(s < 1 for s in sizes):
    _fail(config, name, "a non-empty sequence of positive ints")
  setattr(config, name, sizes)


def _check_bool(config, name):
  if not isinstance(getattr(config, name), (bool, np.bool_)):
    _fail(config, name, "a bool")


def _check_finite(config, name):
  value = getattr(config, name)
  if (isinstance(value, bool) or not isinstance(value, numbers.Real)
      or not math.isfinite(value)):
    _fail(config, name, "a finite number")


def _check_choice(config, name, choices):
  value = getattr(config, name)
  if not isinstance(value, str) or value not in choices:
    _fail(config, name, f"one of: {', '.join(choices)}")


def _check_range(config, name, low, high, *, low_open=False, high_open=False):
  value = getattr(config, name)
  ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and not math.isnan(value)
  if ok:
    ok = (value > low if low_open else value >= low) and (
        value < high if high_open else value <= high)
  if not ok:
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    _fail(config, name, f"a number in {left}{low}, {high}{right}")


@dataclasses.dataclass
class EncoderConfig:
  """How observations are encoded (fields shared by every network config).

  Attributes:
    image_channels: output channels of each 3x3 stride-2 conv layer applied
      to every ``rgb`` observation.
    image_embedding_dim: size of each image's embedding (a linear map of the
      conv features followed by LayerNorm and tanh, as in DrQ-v2).
    task_embedding_dim: size of the learned task embedding, used only when
      ``shape_meta.num_tasks > 0``.
  """
  image_channels: tuple[int, ...] = (32, 32, 32)
  image_embedding_dim: int = 64
  task_embedding_dim: int = 16

  def __post_init__(self):
    _check_sizes(self, "image_channels")
    _check_int(self, "image_embedding_dim", 1)
    _check_int(self, "task_embedding_dim", 1)


@dataclasses.dataclass
class GaussianPolicyConfig(EncoderConfig):
  """A tanh-squashed Gaussian policy (Haarnoja et al., 2018, SAC App. C).

  Attributes:
    hidden_sizes: widths of the MLP torso.
    activation: torso nonlinearity, one of `ACTIVATIONS`.
    layer_norm: whether each torso layer is followed by LayerNorm.
    log_std_min: lower clip of the state-dependent log standard deviation.
    log_std_max: upper clip of the state-dependent log standard deviation.
  """
  hidden_sizes: tuple[int, ...] = (256, 256)
  activation: str = "relu"
  layer_norm: bool = False
  log_std_min: float = -5.0
  log_std_max: float = 2.0

  def __post_init__(self):
    super().__post_init__()
    _check_sizes(self, "hidden_sizes")
    _check_choice(self, "activation", ACTIVATIONS)
    _check_bool(self, "layer_norm")
    _check_finite(self, "log_std_min")
    _check_finite(self, "log_std_max")
    if not self.log_std_min < self.log_std_max:
      raise ValueError(
          f"GaussianPolicyConfig needs log_std_min < log_std_max; got "
          f"log_std_min={self.log_std_min!r}, log_std_max={self.log_std_max!r}")


def _check_time_conditioned_resnet(config):
  """The fields diffusion and flow share: the LN-ResNet on (obs, t, x_t)."""
  _check_int(config, "hidden_dim", 1)
  _check_int(config, "num_blocks", 1)
  _check_range(config, "dropout_rate", 0.0, 1.0, high_open=True)
  _check_int(config, "time_dim", 2)
  if config.time_dim % 2:
    _fail(config, "time_dim", "even (cosine and sine halves)")
  _check_choice(config, "activation", ACTIVATIONS)
  _check_bool(config, "clip_sample")


@dataclasses.dataclass
class DiffusionPolicyConfig(EncoderConfig):
  """A DDPM epsilon-prediction policy (Ho et al., 2020) with the IDQL
  LN-ResNet noise predictor (Hansen-Estruch et al., 2023).

  Attributes:
    num_diffusion_steps: T, the number of forward noising steps.
    beta_schedule: ``"cosine"`` (Nichol & Dhariwal, 2021) or ``"linear"``
      (Ho et al., 2020, rescaled to T steps).
    sampler: ``"ddpm"`` (ancestral sampling over all T steps) or ``"ddim"``
      (Song et al., 2021, over ``ddim_steps`` evenly spaced steps).
    ddim_steps: number of DDIM steps; None means T. At most T.
    ddim_eta: DDIM stochasticity, 0 for the deterministic sampler, 1 for
      DDPM-like noise.
    hidden_dim: width of the LN-ResNet.
    num_blocks: number of residual blocks.
    dropout_rate: dropout inside the residual blocks, active only in `loss`.
    time_dim: size of the learned Fourier time features.
    activation: nonlinearity, one of `ACTIVATIONS`.
    clip_sample: whether the predicted x_0 and the final sample are clipped
      to [-1, 1] (actions are normalized to that box).
  """
  num_diffusion_steps: int = 5
  beta_schedule: str = "cosine"
  sampler: str = "ddpm"
  ddim_steps: Optional[int] = None
  ddim_eta: float = 0.0
  hidden_dim: int = 256
  num_blocks: int = 3
  dropout_rate: float = 0.1
  time_dim: int = 64
  activation: str = "swish"
  clip_sample: bool = True

  def __post_init__(self):
    super().__post_init__()
    _check_int(self, "num_diffusion_steps", 1)
    _check_choice(self, "beta_schedule", BETA_SCHEDULES)
    _check_choice(self, "sampler", SAMPLERS)
    if self.ddim_steps is not None:
      _check_int(self, "ddim_steps", 1)
      if self.ddim_steps > self.num_diffusion_steps:
        _fail(self, "ddim_steps",
              f"<= num_diffusion_steps={self.num_diffusion_steps}")
    _check_range(self, "ddim_eta", 0.0, 1.0)
    _check_time_conditioned_resnet(self)


@dataclasses.dataclass
class FlowPolicyConfig(EncoderConfig):
  """A conditional flow-matching policy (Lipman et al., 2023; Liu et al., 2023,
  rectified flow): a velocity field on the straight path from noise to the
  action, integrated with a few Euler steps (as in pi0's action expert and
  FQL's behaviour flow). The velocity network is the diffusion policy's
  LN-ResNet on the observation embedding, time features and x_t.

  Attributes:
    num_flow_steps: K, Euler steps from noise (t = 0) to the action (t = 1).
    hidden_dim: width of the LN-ResNet.
    num_blocks: number of residual blocks.
    dropout_rate: dropout inside the residual blocks, active only in `loss`.
    time_dim: size of the learned Fourier features of t.
    time_scale: t in [0, 1] is multiplied by this before the Fourier
      features, so their random frequencies cover the unit interval.
    activation: nonlinearity, one of `ACTIVATIONS`.
    clip_sample: whether samples are clipped to [-1, 1].
    use_ema: whether the learner keeps EMA parameters for sampling.
  """
  num_flow_steps: int = 10
  hidden_dim: int = 256
  num_blocks: int = 3
  dropout_rate: float = 0.0
  time_dim: int = 64
  time_scale: float = 10.0
  activation: str = "swish"
  clip_sample: bool = True
  use_ema: bool = True

  def __post_init__(self):
    super().__post_init__()
    _check_int(self, "num_flow_steps", 1)
    _check_time_conditioned_resnet(self)
    _check_finite(self, "time_scale")
    if self.time_scale <= 0:
      _fail(self, "time_scale", "> 0")
    _check_bool(self, "use_ema")


@dataclasses.dataclass
class AutoregressivePolicyConfig(EncoderConfig):
  """A causal transformer over discretized action dimensions (as in RT-1 /
  Q-Transformer tokenization; PA-RL's autoregressive policy).

  Attributes:
    num_bins: uniform bins per action dimension over [-1, 1].
    num_layers: transformer blocks.
    num_heads: attention heads per block.
    embed_dim: model width; must be divisible by ``num_heads``.
    mlp_ratio: width of each block's MLP relative to ``embed_dim``.
    dropout_rate: dropout after attention and MLP, active only in `loss`.
  """
  num_bins: int = 128
  num_layers: int = 4
  num_heads: int = 4
  embed_dim: int = 128
  mlp_ratio: int = 4
  dropout_rate: float = 0.1

  def __post_init__(self):
    super().__post_init__()
    _check_int(self, "num_bins", 2)
    _check_int(self, "num_layers", 1)
    _check_int(self, "num_heads", 1)
    _check_int(self, "embed_dim", 1)
    _check_int(self, "mlp_ratio", 1)
    if self.embed_dim % self.num_heads:
      _fail(self, "embed_dim", f"divisible by num_heads={self.num_heads}")
    _check_range(self, "dropout_rate", 0.0, 1.0, high_open=True)


@dataclasses.dataclass
class EnsembleCriticConfig(EncoderConfig):
  """An ensemble of Q-functions, each a LayerNorm MLP (Ball et al., 2023,
  RLPD; Chen et al., 2021, REDQ for the random-subset minimum).

  Attributes:
    hidden_sizes: widths of each member's MLP.
    activation: nonlinearity, one of `ACTIVATIONS`.
    layer_norm: whether each hidden layer is followed by LayerNorm.
    ensemble_size: E, the number of members.
    target_subset_size: m, the number of members the target minimum is
      taken over (a fresh random subset per call).
    value_head: whether to add a separate state-value MLP V(s) (IQL).
    value_hidden_sizes: widths of the value MLP.
  """
  hidden_sizes: tuple[int, ...] = (256, 256)
  activation: str = "relu"
  layer_norm: bool = True
  ensemble_size: int = 10
  target_subset_size: int = 2
  value_head: bool = False
  value_hidden_sizes: tuple[int, ...] = (256, 256)

  def __post_init__(self):
    super().__post_init__()
    _check_sizes(self, "hidden_sizes")
    _check_sizes(self, "value_hidden_sizes")
    _check_choice(self, "activation", ACTIVATIONS)
    _check_bool(self, "layer_norm")
    _check_bool(self, "value_head")
    _check_int(self, "ensemble_size", 1)
    _check_int(self, "target_subset_size", 1)
    if self.target_subset_size > self.ensemble_size:
      _fail(self, "target_subset_size",
            f"<= ensemble_size={self.ensemble_size}")


@dataclasses.dataclass
class DistributionalCriticConfig(EnsembleCriticConfig):
  """An ensemble of categorical Q-functions trained by cross-entropy
  (HL-Gauss: Imani & White, 2018; Farebrother et al., 2024. C51 two-hot
  projection: Bellemare et al., 2017).

  Attributes:
    num_bins: number of bins of the return support.
    v_min: lowest representable return; set it to your task's return range.
    v_max: highest representable return.
    sigma_ratio: HL-Gauss smoothing, sigma = sigma_ratio * bin width.
    projection: ``"hl_gauss"`` or ``"c51"`` (two-hot on the bin centres).
  """
  ensemble_size: int = 2
  num_bins: int = 128
  v_min: float = -100.0
  v_max: float = 100.0
  sigma_ratio: float = 0.75
  projection: str = "hl_gauss"

  def __post_init__(self):
    super().__post_init__()
    _check_int(self, "num_bins", 2)
    _check_finite(self, "v_min")
    _check_finite(self, "v_max")
    if not self.v_min < self.v_max:
      raise ValueError(
          f"DistributionalCriticConfig needs v_min < v_max; got "
          f"v_min={self.v_min!r}, v_max={self.v_max!r}")
    _check_range(self, "sigma_ratio", 0.0, float("inf"), low_open=True,
                 high_open=True)
    _check_choice(self, "projection", PROJECTIONS)
