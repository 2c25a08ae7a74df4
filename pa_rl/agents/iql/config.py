"""IQL config (Kostrikov et al., 2022)."""

import dataclasses

from pa_rl import config_utils
from pa_rl.agents import base_config

IQL_BOOTSTRAPS = ("value", "action_optimization")


@dataclasses.dataclass(frozen=True)
class IQLConfig(base_config.CriticLearnerConfig):
  """Implicit Q-learning with an advantage-weighted policy.

  Attributes:
    expectile: tau of V's expectile regression (reference 0.7).
    awr_temperature: beta of the policy's weights exp(beta * (Q - V)).
    iql_bootstrap: ``"value"`` (the paper: r + gamma V(s')) or
      ``"action_optimization"`` (r + gamma Q(s', a*) with a* the PA-RL
      argmax at s').
    (and every `CriticLearnerConfig` field)
  """
  expectile: float = 0.7
  awr_temperature: float = 3.0
  iql_bootstrap: str = "value"

  def __post_init__(self):
    super().__post_init__()
    validate_iql(self)


def validate_iql(config) -> None:
  config_utils.check_number(config, "expectile", 0, 1, low_open=True, high_open=True)
  if hasattr(config, "awr_temperature"):
    config_utils.check_number(config, "awr_temperature", 0)
  config_utils.check_choice(config, "iql_bootstrap", IQL_BOOTSTRAPS)
