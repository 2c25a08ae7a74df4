"""Imitation (behaviour cloning) config."""

import dataclasses

from pa_rl.agents import base_config


@dataclasses.dataclass(frozen=True)
class ImitationConfig(base_config.LearnerConfig):
  """Behaviour cloning of any policy class by its own supervised loss.

  Attributes: those of `LearnerConfig` (batch_size, policy_lr, grad_clip,
  ema_decay, stop_on_nonfinite); no rewards are used.
  """
