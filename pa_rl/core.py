"""Acme's interfaces, reproduced so that the library honours their contracts.

`dm-acme` itself cannot be installed on Python 3.11 (it pins dm-launchpad
0.5.0, which has no cp311 wheel) and its jax modules use APIs that JAX has
removed. These abstract classes follow `acme.core` method for method, so an
actor built here runs in `acme.EnvironmentLoop` and a learner serves
`get_variables` as an Acme `VariableSource`.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any, Generic, Sequence, TypeVar

import dm_env
from dm_env import specs

T = TypeVar("T")


class VariableSource(abc.ABC):
  """Something that serves named variables (Acme: `core.VariableSource`)."""

  @abc.abstractmethod
  def get_variables(self, names: Sequence[str]) -> list[Any]:
    """Returns the current value of each named variable, in order."""


class Saveable(abc.ABC, Generic[T]):
  """Something whose state can be saved and restored (Acme: `core.Saveable`)."""

  @abc.abstractmethod
  def save(self) -> T:
    """Returns the state to save."""

  @abc.abstractmethod
  def restore(self, state: T):
    """Restores the state that `save` returned."""


class Worker(abc.ABC):
  """A unit of work that runs (Acme: `core.Worker`)."""

  @abc.abstractmethod
  def run(self):
    """Runs the worker."""


class Learner(VariableSource, Worker, Saveable):
  """Updates the agent's variables from data (Acme: `core.Learner`)."""

  @abc.abstractmethod
  def step(self):
    """Performs one update step."""

  def run(self, num_steps: int | None = None) -> None:
    """Runs `step` ``num_steps`` times, forever when None."""
    iterator = range(num_steps) if num_steps is not None else iter(int, 1)
    for _ in iterator:
      self.step()


class Actor(abc.ABC):
  """Interacts with an environment (Acme: `core.Actor`)."""

  @abc.abstractmethod
  def select_action(self, observation):
    """Samples from the policy and returns an action."""

  @abc.abstractmethod
  def observe_first(self, timestep: dm_env.TimeStep):
    """Records the first timestep of an episode."""

  @abc.abstractmethod
  def observe(self, action, next_timestep: dm_env.TimeStep):
    """Records the action taken and the timestep that followed."""

  @abc.abstractmethod
  def update(self, wait: bool = False):
    """Pulls the newest variables from the variable source."""


@dataclasses.dataclass(frozen=True)
class EnvironmentSpec:
  """The specs of an environment (Acme: `specs.EnvironmentSpec`)."""
  observations: Any
  actions: specs.BoundedArray
  rewards: Any
  discounts: Any


def make_environment_spec(environment: dm_env.Environment) -> EnvironmentSpec:
  """Returns the `EnvironmentSpec` of a dm_env environment."""
  return EnvironmentSpec(
      observations=environment.observation_spec(),
      actions=environment.action_spec(),
      rewards=environment.reward_spec(),
      discounts=environment.discount_spec())


class PAModule(abc.ABC):
  """Base of every PA-RL component the seed API hands out: policies, critics
  and agents.

  A PAModule is immutable: it holds parameters and the pure functions that use
  them, and every change (an update step, new parameters) returns a new
  object through `replace`. That keeps the functional face
  (``info = agent.update(batch); agent = info["agent"]``) free of hidden state.
  Subclasses are frozen dataclasses.
  """

  def replace(self, **changes):
    """Returns a copy with ``changes`` applied."""
    return dataclasses.replace(self, **changes)
