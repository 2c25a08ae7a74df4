"""Spec methods shared by our dm_env wrappers."""

from dm_env import specs
import numpy as np


class DictSpecsMixin:
  """dm_env spec methods for wrappers that set ``_observation_spec`` (a dict
  of specs) and ``_action_spec``; rewards are float32 scalars and discounts
  lie in [0, 1]."""

  def observation_spec(self) -> dict[str, specs.Array]:
    return dict(self._observation_spec)

  def action_spec(self) -> specs.BoundedArray:
    return self._action_spec

  def reward_spec(self) -> specs.Array:
    return specs.Array((), np.float32, name="reward")

  def discount_spec(self) -> specs.BoundedArray:
    return specs.BoundedArray((), np.float32, 0.0, 1.0, name="discount")
