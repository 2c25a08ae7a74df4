"""Evaluation episodes, with progress and (optionally) rendered frames or
recorded actions (for a replay that renders: `environments.rendering`)."""

from __future__ import annotations

from typing import Callable

import dm_env
import numpy as np

from pa_rl import core
from pa_rl import progress
from pa_rl.agents import evaluation


class NonFiniteActionError(ValueError):
  """The policy chose an action holding NaN or Inf."""


class _FiniteActions(core.Actor):
  """Passes an actor through, refusing non-finite actions before the
  environment steps with them: a NaN action makes a NaN observation, and the
  error would then blame the observation instead of the policy."""

  def __init__(self, actor: core.Actor, episode: int | None):
    self._actor = actor
    self._episode = episode
    self._step = 0

  def select_action(self, observation):
    action = self._actor.select_action(observation)
    values = np.asarray(action)
    if np.issubdtype(values.dtype, np.number) and not np.all(np.isfinite(values)):
      where = f"step {self._step}"
      if self._episode is not None:
        where = f"episode {self._episode} {where}"
      raise NonFiniteActionError(
          f"the policy produced a non-finite action {values.tolist()} at {where}, before "
          "the environment stepped with it (are the policy's parameters NaN or Inf?)")
    self._step += 1
    return action

  def observe_first(self, timestep: dm_env.TimeStep):
    self._actor.observe_first(timestep)

  def observe(self, action, next_timestep: dm_env.TimeStep):
    self._actor.observe(action, next_timestep)

  def update(self, wait: bool = False):
    self._actor.update(wait)


def run_episode(env: dm_env.Environment, actor: core.Actor,
                render: Callable[[], np.ndarray] | None = None,
                actions: list[np.ndarray] | None = None, *, episode: int | None = None
                ) -> tuple[dict[str, float], list[np.ndarray]]:
  """One episode; returns (return, length, success) and the rendered frames.

  With an ``actions`` list, the actions taken are appended to it.
  ``episode`` (its index) only goes into error messages.

  Raises:
    NonFiniteActionError: the actor chose an action with NaN or Inf (the
      environment is not stepped with it).
  """
  frames: list[np.ndarray] = []
  stats = evaluation.run_episode(env, _FiniteActions(actor, episode), render=render,
                                 frames=frames, actions=actions)
  return stats, frames


def evaluate_episodes(env: dm_env.Environment, actor: core.Actor, num_episodes: int, *,
                      desc: str = "evaluate") -> list[dict[str, float]]:
  """Runs ``num_episodes`` episodes (with progress); their statistics.

  Raises:
    NonFiniteActionError: the policy chose an action with NaN or Inf.
  """
  return [run_episode(env, actor, episode=i)[0]
          for i in progress.progress(range(num_episodes), desc=desc)]


def summarize(results: list[dict[str, float]], prefix: str = "eval/") -> dict[str, float]:
  """Means (and the return's std) over episodes, with namespaced keys."""
  returns = np.asarray([r["return"] for r in results])
  out = {f"{prefix}return": float(returns.mean()), f"{prefix}return_std": float(returns.std()),
         f"{prefix}length": float(np.mean([r["length"] for r in results])),
         f"{prefix}episodes": float(len(results))}
  successes = [r["success"] for r in results if not np.isnan(r["success"])]
  if successes:
    out[f"{prefix}success"] = float(np.mean(successes))
  return out
