"""Evaluation episodes, with progress and (optionally) rendered frames or
recorded actions (for a replay that renders: `environments.rendering`)."""

from __future__ import annotations

from typing import Callable

import dm_env
import numpy as np

from pa_rl import core
from pa_rl import progress
from pa_rl.agents import evaluation


def run_episode(env: dm_env.Environment, actor: core.Actor,
                render: Callable[[], np.ndarray] | None = None,
                actions: list[np.ndarray] | None = None
                ) -> tuple[dict[str, float], list[np.ndarray]]:
  """One episode; returns (return, length, success) and the rendered frames.

  With an ``actions`` list, the actions taken are appended to it.
  """
  frames: list[np.ndarray] = []
  stats = evaluation.run_episode(env, actor, render=render, frames=frames, actions=actions)
  return stats, frames


def evaluate_episodes(env: dm_env.Environment, actor: core.Actor, num_episodes: int, *,
                      desc: str = "evaluate") -> list[dict[str, float]]:
  """Runs ``num_episodes`` episodes (with progress); their statistics."""
  return [run_episode(env, actor)[0]
          for _ in progress.progress(range(num_episodes), desc=desc)]


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
