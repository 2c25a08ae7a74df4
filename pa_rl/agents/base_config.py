"""Fields every learner config shares."""

from __future__ import annotations

import dataclasses

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
    if self.batch_size < 1:
      raise ValueError(f"batch_size must be >= 1; got {self.batch_size}")
    if not self.policy_lr > 0:
      raise ValueError(f"policy_lr must be > 0; got {self.policy_lr}")
    if self.grad_clip < 0:
      raise ValueError(f"grad_clip must be >= 0; got {self.grad_clip}")
    if not 0.0 <= self.ema_decay < 1.0:
      raise ValueError(f"ema_decay must be in [0, 1); got {self.ema_decay}")


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
    if not self.critic_lr > 0:
      raise ValueError(f"critic_lr must be > 0; got {self.critic_lr}")
    if not 0.0 <= self.discount <= 1.0:
      raise ValueError(f"discount must be in [0, 1]; got {self.discount}")
    if not 0.0 < self.tau <= 1.0:
      raise ValueError(f"tau must be in (0, 1]; got {self.tau}")
    if isinstance(self.action_optimization, dict):
      object.__setattr__(self, "action_optimization",
                         config_utils.make_config(action_optimization.ActionOptimizationConfig,
                                                  self.action_optimization,
                                                  where="action_optimization"))
