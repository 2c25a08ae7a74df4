"""SAC config (Haarnoja et al., 2018)."""

import dataclasses

from pa_rl import config_utils
from pa_rl.agents import base_config


@dataclasses.dataclass(frozen=True)
class SACConfig(base_config.CriticLearnerConfig):
  """Soft actor-critic with a fixed entropy weight.

  Attributes:
    entropy_alpha: entropy weight, in the soft TD target and in the policy
      objective (0.2 as in the paper's fixed-temperature runs).
    (and every `CriticLearnerConfig` field)
  """
  entropy_alpha: float = 0.2

  def __post_init__(self):
    super().__post_init__()
    config_utils.check_number(self, "entropy_alpha", 0)
