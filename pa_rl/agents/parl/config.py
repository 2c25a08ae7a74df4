"""PA-RL configs: offline and online fine-tuning."""

import dataclasses

from pa_rl import config_utils
from pa_rl.agents import base_config
from pa_rl.agents.calql import config as calql_config
from pa_rl.agents.iql import config as iql_config

CRITIC_OBJECTIVES = ("calql", "iql")


@dataclasses.dataclass(frozen=True)
class PARLConfig(base_config.CriticLearnerConfig):
  """Policy-Agnostic RL: a critic + action optimization + distillation.

  Attributes:
    critic_objective: ``"calql"`` (reference) or ``"iql"``.
    cql_alpha, num_cql_actions, use_calibration: Cal-QL settings.
    expectile, iql_bootstrap: IQL settings (IQL needs a critic built with
      ``value_head=True``).
    (and every `CriticLearnerConfig` field, including
    ``action_optimization``)
  """
  critic_objective: str = "calql"
  cql_alpha: float = 0.005
  num_cql_actions: int = 10
  use_calibration: bool = True
  expectile: float = 0.7
  iql_bootstrap: str = "value"

  def __post_init__(self):
    super().__post_init__()
    config_utils.check_choice(self, "critic_objective", CRITIC_OBJECTIVES)
    calql_config.validate_calql(self)
    iql_config.validate_iql(self)


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
