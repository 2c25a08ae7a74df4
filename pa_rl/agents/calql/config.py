"""Cal-QL config (Nakamoto et al., 2023)."""

import dataclasses

from pa_rl import config_utils
from pa_rl.agents import base_config


@dataclasses.dataclass(frozen=True)
class CalQLConfig(base_config.CriticLearnerConfig):
  """Calibrated Q-learning with a SAC-style Gaussian policy.

  Attributes:
    cql_alpha: weight of the CQL regularizer (reference 0.005).
    num_cql_actions: policy samples per state in the regularizer (10).
    use_calibration: lower-bound the policy actions' Q by the Monte-Carlo
      return (Cal-QL); False is plain CQL.
    entropy_alpha: entropy weight of the SAC-style policy objective.
    (and every `CriticLearnerConfig` field)
  """
  cql_alpha: float = 0.005
  num_cql_actions: int = 10
  use_calibration: bool = True
  entropy_alpha: float = 0.1

  def __post_init__(self):
    super().__post_init__()
    validate_calql(self)


def validate_calql(config) -> None:
  config_utils.check_number(config, "cql_alpha", 0)
  config_utils.check_int(config, "num_cql_actions", 1)
  config_utils.check_bool(config, "use_calibration")
  if hasattr(config, "entropy_alpha"):
    config_utils.check_number(config, "entropy_alpha", 0)
