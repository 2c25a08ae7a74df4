"""Cal-QL config (Nakamoto et al., 2023)."""

import dataclasses

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
  if config.cql_alpha < 0:
    raise ValueError(f"cql_alpha must be >= 0; got {config.cql_alpha}")
  if config.num_cql_actions < 1:
    raise ValueError(f"num_cql_actions must be >= 1; got {config.num_cql_actions}")
