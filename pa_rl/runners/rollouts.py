"""Evaluation episodes, with progress and (optionally) rendered frames.

The built-in tasks render themselves in numpy. MuJoCo tasks (gymnasium,
dm_control) need an offscreen OpenGL backend (``MUJOCO_GL=egl`` or
``osmesa``); a broken backend can crash the process outright, so each one is
first tried in a child process and video is skipped, with a message saying
why, when none works.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, Callable, Mapping

import dm_env
import numpy as np

from pa_rl import core
from pa_rl import environments
from pa_rl import progress
from pa_rl.agents import evaluation

MUJOCO_BACKENDS = ("egl", "osmesa")


class RenderUnavailable(RuntimeError):
  """The environment cannot render frames here."""


def run_episode(env: dm_env.Environment, actor: core.Actor,
                render: Callable[[], np.ndarray] | None = None
                ) -> tuple[dict[str, float], list[np.ndarray]]:
  """One episode; returns (return, length, success) and the rendered frames."""
  frames: list[np.ndarray] = []
  stats = evaluation.run_episode(env, actor, render=render, frames=frames)
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


def is_builtin(env_name: str) -> bool:
  """Whether ``env_name`` is registered in-process (renders without MuJoCo)."""
  return env_name in environments.registered_environments()


def make_render_environment(env_name: str, seed: int, env_kwargs: Mapping[str, Any]
                            ) -> tuple[dm_env.Environment, Callable[[], np.ndarray]]:
  """An environment that renders, and its ``render() -> uint8 [H, W, 3]``."""
  if is_builtin(env_name):
    env = environments.make_environment(env_name, seed=seed, **env_kwargs)
    if not callable(getattr(env, "render", None)):
      raise RenderUnavailable(f"environment {env_name!r} has no render() method")
    return env, env.render
  env = environments.make_environment(env_name, seed=seed, **env_kwargs)
  if isinstance(env, environments.GymnasiumWrapper):
    env.close()
    env = environments.make_environment(env_name, seed=seed, render_mode="rgb_array",
                                        **env_kwargs)
    return env, lambda: np.asarray(env.render(), np.uint8)[..., :3]
  return env, lambda: np.asarray(env.render(240, 320), np.uint8)


_PROBE = """
import json, sys
from pa_rl.runners import rollouts
name, kwargs = sys.argv[1], json.loads(sys.argv[2])
env, render = rollouts.make_render_environment(name, 0, kwargs)
env.reset()
frame = render()
assert frame.ndim == 3 and frame.shape[-1] == 3, frame.shape
print("RENDER_OK")
"""


def choose_mujoco_backend(env_name: str, env_kwargs: Mapping[str, Any]
                          ) -> tuple[str | None, str]:
  """Finds an offscreen backend that renders ``env_name``, in a child process.

  Tries ``$MUJOCO_GL`` if set, else egl then osmesa. Call it before the
  process imports MuJoCo's renderer (the backend is read once).

  Returns:
    (backend or None, a report of what was tried).
  """
  preferred = os.environ.get("MUJOCO_GL")
  backends = (preferred,) if preferred else MUJOCO_BACKENDS
  tried = []
  for backend in backends:
    env = {**os.environ, "MUJOCO_GL": backend, "JAX_PLATFORMS": "cpu"}
    try:
      result = subprocess.run(
          [sys.executable, "-c", _PROBE, env_name, json.dumps(dict(env_kwargs))],
          env=env, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
      tried.append(f"MUJOCO_GL={backend}: timed out")
      continue
    if result.returncode == 0 and "RENDER_OK" in result.stdout:
      return backend, f"MUJOCO_GL={backend} works"
    last = (result.stderr.strip().splitlines() or ["no output"])[-1]
    why = f"crashed (signal {-result.returncode})" if result.returncode < 0 else last
    tried.append(f"MUJOCO_GL={backend}: {why[:200]}")
  return None, "; ".join(tried)
