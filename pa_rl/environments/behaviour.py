"""Behaviour policies: the interface every data-collecting policy follows,
and the generic ones (random, noisy expert, random goal segments, per-episode
mixtures).

A behaviour policy acts in environment units on one unbatched observation
dict, draws all its randomness from the `numpy.random.Generator` it was
given, and is told when an episode begins so it can resample per-episode
choices (a route, a mixture component).
"""

from __future__ import annotations

import abc
from typing import Any, Mapping, Sequence

from dm_env import specs
import numpy as np


class BehaviourPolicy(abc.ABC):
  """A policy that collects data.

  Attributes:
    rng: the generator all of the policy's randomness comes from.
  """

  def __init__(self, rng: np.random.Generator):
    self.rng = rng

  def begin_episode(self) -> None:
    """Called before the first action of every episode; resamples
    per-episode choices. The default has none."""

  @abc.abstractmethod
  def select_action(self, observation: Mapping[str, Any]) -> np.ndarray:
    """Returns the action for ``observation``, in environment units and
    inside the action bounds."""


def _bounds(action_spec: specs.BoundedArray) -> tuple[np.ndarray, np.ndarray]:
  low = np.broadcast_to(action_spec.minimum, action_spec.shape)
  high = np.broadcast_to(action_spec.maximum, action_spec.shape)
  return low.astype(np.float32), high.astype(np.float32)


class RandomPolicy(BehaviourPolicy):
  """Uniform over the action bounds."""

  def __init__(self, action_spec: specs.BoundedArray, rng: np.random.Generator):
    super().__init__(rng)
    self._low, self._high = _bounds(action_spec)

  def select_action(self, observation: Mapping[str, Any]) -> np.ndarray:
    del observation
    return self.rng.uniform(self._low, self._high).astype(np.float32)


class NoisyPolicy(BehaviourPolicy):
  """Another policy's action plus Gaussian noise, clipped to the bounds.

  The noise scale is relative to the action range: ``noise_std`` times half
  the range of each dimension, i.e. ``noise_std`` itself for actions in
  ``[-1, 1]``.
  """

  def __init__(self, policy: BehaviourPolicy, action_spec: specs.BoundedArray,
               noise_std: float, rng: np.random.Generator):
    super().__init__(rng)
    if noise_std < 0:
      raise ValueError(f"noise_std must be >= 0; got {noise_std}")
    self.policy = policy
    self.noise_std = float(noise_std)
    self._low, self._high = _bounds(action_spec)

  def begin_episode(self) -> None:
    self.policy.begin_episode()

  def select_action(self, observation: Mapping[str, Any]) -> np.ndarray:
    action = np.asarray(self.policy.select_action(observation), np.float32)
    scale = self.noise_std * 0.5 * (self._high - self._low)
    noisy = action + scale * self.rng.standard_normal(action.shape)
    return np.clip(noisy, self._low, self._high).astype(np.float32)


class MixedPolicy(BehaviourPolicy):
  """Picks one of several policies at the start of every episode.

  Attributes:
    policies: the components, by name.
    probabilities: the probability of each component, same order.
    current: the name of the component acting in the current episode.
  """

  def __init__(self, policies: Mapping[str, BehaviourPolicy],
               probabilities: Sequence[float], rng: np.random.Generator):
    super().__init__(rng)
    probabilities = np.asarray(probabilities, np.float64)
    if (probabilities.shape != (len(policies),) or np.any(probabilities < 0)
        or probabilities.sum() <= 0):
      raise ValueError(
          f"mixture probabilities {probabilities.tolist()} must be "
          f"{len(policies)} non-negative numbers with a positive sum, one "
          f"per component ({', '.join(policies)})")
    self.policies = dict(policies)
    self.probabilities = probabilities / probabilities.sum()
    self.current = next(iter(self.policies))
    self._started = False

  def begin_episode(self) -> None:
    names = list(self.policies)
    self.current = names[self.rng.choice(len(names), p=self.probabilities)]
    self.policies[self.current].begin_episode()
    self._started = True

  def select_action(self, observation: Mapping[str, Any]) -> np.ndarray:
    if not self._started:
      self.begin_episode()
    return self.policies[self.current].select_action(observation)


class GoalSegmentsPolicy(BehaviourPolicy):
  """A goal-conditioned expert driven segment by segment, each segment to the
  episode's goal or to a random goal (D4RL maze2d-style data), plus noise.

  At the start of a segment the target is the goal in the observation with
  probability ``goal_probability``, else ``sample_goal(rng)``; the segment
  lasts a uniform number of steps in ``segment_steps``. The expert sees the
  observation with ``goal_key`` replaced by the target, so its actions are
  purposeful everywhere but often lead away from the task's goal.

  Attributes:
    target: the current segment's goal (``None``: the task's own goal).
  """

  def __init__(self, expert: BehaviourPolicy, sample_goal, action_spec: specs.BoundedArray,
               noise_std: float, rng: np.random.Generator,
               segment_steps: tuple[int, int] = (25, 75), goal_probability: float = 0.5,
               goal_key: str = "desired_goal"):
    """Builds the policy.

    Args:
      expert: acts towards ``observation[goal_key]``.
      sample_goal: ``rng -> goal``, a random goal of the task.
      action_spec: the action bounds (noise scale and clipping).
      noise_std: Gaussian action noise, relative to half the action range
        (as `NoisyPolicy`).
      rng: draws the segments, their goals and the noise.
      segment_steps: inclusive bounds of a segment's length.
      goal_probability: chance that a segment heads for the task's goal.
      goal_key: the observation entry holding the goal.
    """
    super().__init__(rng)
    low, high = (int(v) for v in segment_steps)
    if not 1 <= low <= high:
      raise ValueError(f"segment_steps must be (low, high) with 1 <= low <= high; "
                       f"got {segment_steps}")
    if not 0.0 <= goal_probability <= 1.0:
      raise ValueError(f"goal_probability must be in [0, 1]; got {goal_probability}")
    self.expert = expert
    self.sample_goal = sample_goal
    self.segment_steps = (low, high)
    self.goal_probability = float(goal_probability)
    self.goal_key = goal_key
    self.target = None
    self._noise = NoisyPolicy(expert, action_spec, noise_std, rng)
    self._left = 0

  def begin_episode(self) -> None:
    self.expert.begin_episode()
    self._left = 0

  def select_action(self, observation: Mapping[str, Any]) -> np.ndarray:
    if self.goal_key not in observation:
      raise KeyError(f"GoalSegmentsPolicy needs the goal under {self.goal_key!r}; the "
                     f"observation has {sorted(observation)}")
    if self._left <= 0:
      to_goal = self.rng.random() < self.goal_probability
      self.target = None if to_goal else np.asarray(self.sample_goal(self.rng))
      self._left = int(self.rng.integers(self.segment_steps[0], self.segment_steps[1] + 1))
    self._left -= 1
    if self.target is not None:
      goal = observation[self.goal_key]
      observation = {**observation,
                     self.goal_key: self.target.astype(np.asarray(goal).dtype)}
    return self._noise.select_action(observation)
