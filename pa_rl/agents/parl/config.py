"""PA-RL configs: offline and online fine-tuning."""

import dataclasses
from typing import Mapping

from pa_rl import action_optimization
from pa_rl import config_utils
from pa_rl.agents import base_config
from pa_rl.agents.calql import config as calql_config
from pa_rl.agents.iql import config as iql_config

CRITIC_OBJECTIVES = ("calql", "iql")
DISTILL_SOURCES = ("optimized", "dataset", "advantage_weighted")


@dataclasses.dataclass(frozen=True)
class PARLConfig(base_config.CriticLearnerConfig):
  """Policy-Agnostic RL: a critic + action optimization + distillation.

  Attributes:
    critic_objective: ``"calql"`` (reference) or ``"iql"``.
    cql_alpha, num_cql_actions, use_calibration: Cal-QL settings.
    expectile, iql_bootstrap: IQL settings (IQL needs a critic built with
      ``value_head=True``).
    target_action_optimization: the action optimization of the TD target's
      bootstrap action at s' (and of IQL's ``action_optimization``
      bootstrap); None: ``action_optimization``'s.
    distill_action_optimization: the action optimization that makes the
      distillation targets; None: ``action_optimization``'s. Acting always
      uses ``action_optimization``.
    distill_every: the policy is distilled on every ``distill_every``-th
      update only (the critic learns on every one); 1 is the reference.
    distill_source: ``"optimized"`` (PA-RL: the policy imitates the
      optimized actions) or ``"dataset"`` (it imitates the data's actions,
      as the reference's offline phase does: the critic still learns from
      optimized bootstrap actions and acting still optimizes over the
      policy's samples), or ``"advantage_weighted"`` (it imitates the data's
      actions weighted by IQL's ``exp(awr_temperature * (Q - V))``: any
      policy class's own loss, weighted; needs ``critic_objective="iql"``).
    awr_temperature: beta of the ``"advantage_weighted"`` weights.
    (and every `CriticLearnerConfig` field, including
    ``action_optimization``)
  """
  critic_objective: str = "calql"
  cql_alpha: float = 0.005
  num_cql_actions: int = 10
  use_calibration: bool = True
  expectile: float = 0.7
  iql_bootstrap: str = "value"
  target_action_optimization: action_optimization.ActionOptimizationConfig | None = None
  distill_action_optimization: action_optimization.ActionOptimizationConfig | None = None
  distill_every: int = 1
  distill_source: str = "optimized"
  awr_temperature: float = 3.0

  def __post_init__(self):
    super().__post_init__()
    config_utils.check_choice(self, "critic_objective", CRITIC_OBJECTIVES)
    calql_config.validate_calql(self)
    iql_config.validate_iql(self)
    for name in ("target_action_optimization", "distill_action_optimization"):
      value = getattr(self, name)
      if isinstance(value, Mapping):
        value = config_utils.make_config(action_optimization.ActionOptimizationConfig, value,
                                         where=name)
        object.__setattr__(self, name, value)
      if value is not None and not isinstance(
          value, action_optimization.ActionOptimizationConfig):
        raise TypeError(f"{type(self).__name__}.{name} must be None, an "
                        f"ActionOptimizationConfig or a dict of its fields; got "
                        f"{type(value).__name__}")
    config_utils.check_int(self, "distill_every", 1)
    config_utils.check_choice(self, "distill_source", DISTILL_SOURCES)
    if self.distill_source == "advantage_weighted" and self.critic_objective != "iql":
      raise ValueError("distill_source='advantage_weighted' weighs by Q - V, which needs "
                       "critic_objective='iql' (its state-value head); got "
                       f"critic_objective={self.critic_objective!r}")

  @property
  def target_ao(self) -> action_optimization.ActionOptimizationConfig:
    """The TD target's action optimization."""
    return self.target_action_optimization or self.action_optimization

  @property
  def distill_ao(self) -> action_optimization.ActionOptimizationConfig:
    """The distillation targets' action optimization."""
    return self.distill_action_optimization or self.action_optimization


@dataclasses.dataclass(frozen=True)
class ActorCriticConfig(PARLConfig):
  """PA-RL online fine-tuning (reference: base-policy lr 5e-5, 50/50 batches,
  UTD 1, optimizer state reset at the offline->online switch).

  Attributes:
    online_fraction: share of each batch drawn from the replay buffer.
    utd_ratio: updates per environment step.
    replay_capacity: replay buffer size in transitions.
    reset_optimizers: start fine-tuning with fresh optimizer moments.
  """
  policy_lr: float = 5e-5
  online_fraction: float = 0.5
  utd_ratio: int = 1
  replay_capacity: int = 100_000
  reset_optimizers: bool = True

  def __post_init__(self):
    super().__post_init__()
    config_utils.check_number(self, "online_fraction", 0, 1)
    config_utils.check_int(self, "utd_ratio", 1)
    config_utils.check_int(self, "replay_capacity", 1)
    config_utils.check_bool(self, "reset_optimizers")
