"""Fields every learner config shares."""

from __future__ import annotations

import dataclasses
from typing import Mapping

from pa_rl import action_optimization
from pa_rl import config_utils


@dataclasses.dataclass(frozen=True)
class LearnerConfig:
  """Optimization settings common to all agents.

  Attributes:
    batch_size: transitions per update (the learner's `step` samples them).
    policy_lr: learning rate of the policy (Adam).
    grad_clip: global-norm gradient clip for every optimizer (0 disables).
    ema_decay: decay of the policy's EMA parameters (used for sampling by
      policies that ask for them, e.g. diffusion).
    stop_on_nonfinite: raise (in `Learner.step`) when a loss or gradient
      becomes NaN/Inf; False skips such updates instead, leaving the state
      unchanged.
  """
  batch_size: int = 256
  policy_lr: float = 3e-4
  grad_clip: float = 10.0
  ema_decay: float = 0.995
  stop_on_nonfinite: bool = True

  def __post_init__(self):
    config_utils.check_int(self, "batch_size", 1)
    config_utils.check_number(self, "policy_lr", 0, low_open=True)
    config_utils.check_number(self, "grad_clip", 0)
    config_utils.check_number(self, "ema_decay", 0, 1, high_open=True)
    config_utils.check_bool(self, "stop_on_nonfinite")


@dataclasses.dataclass(frozen=True)
class CriticLearnerConfig(LearnerConfig):
  """Adds the critic's TD-learning settings.

  Attributes:
    critic_lr: learning rate of the critic (Adam).
    discount: gamma, used where the agent computes returns itself (the
      batch's ``discount`` already holds gamma**n for data from datasets).
    tau: Polyak rate of the target critic.
    action_optimization: PA-RL action optimization (acting, TD targets,
      distillation targets).
  """
  critic_lr: float = 3e-4
  discount: float = 0.99
  tau: float = 5e-3
  action_optimization: action_optimization.ActionOptimizationConfig = dataclasses.field(
      default_factory=action_optimization.ActionOptimizationConfig)

  def __post_init__(self):
    super().__post_init__()
    config_utils.check_number(self, "critic_lr", 0, low_open=True)
    config_utils.check_number(self, "discount", 0, 1)
    config_utils.check_number(self, "tau", 0, 1, low_open=True)
    ao_config = self.action_optimization
    if isinstance(ao_config, Mapping):
      ao_config = config_utils.make_config(action_optimization.ActionOptimizationConfig,
                                           ao_config, where="action_optimization")
      object.__setattr__(self, "action_optimization", ao_config)
    if not isinstance(ao_config, action_optimization.ActionOptimizationConfig):
      raise TypeError(f"{type(self).__name__}.action_optimization must be an "
                      f"ActionOptimizationConfig or a dict of its fields; got "
                      f"{type(ao_config).__name__}")
