"""Rollout frames: rendered in-process, or replayed in a child process.

The built-in tasks draw themselves in numpy. MuJoCo tasks (gymnasium,
dm_control) render through an offscreen OpenGL backend (``MUJOCO_GL=egl``,
Mesa's EGL, works without a GPU; ``osmesa`` needs libOSMesa), and MuJoCo's
renderer crashes a process that has imported TensorFlow. So a MuJoCo rollout
is recorded as actions while the policy runs, then replayed from the same seed
in a child process that imports only this module's dependencies (no JAX, no
TensorFlow), which renders the frames. Environments are deterministic given
their seed and actions; the replay's rewards are checked against the
recorded ones.

Child process: ``python -m pa_rl.environments.rendering REQUEST.npz OUT.npz``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from typing import Any, Callable, Mapping, Sequence

import dm_env
import numpy as np

from pa_rl.environments import gym_wrapper
from pa_rl.environments import registry

MUJOCO_BACKENDS = ("egl", "osmesa")
_TIMEOUT_S = 600
# The child's exit code when the environment itself cannot be made (a name
# or argument problem, the same under every backend).
_ENVIRONMENT_ERROR = 3
_ENVIRONMENT_PREFIX = "environment error: "


class RenderUnavailable(RuntimeError):
  """The environment cannot render frames here."""


def is_builtin(env_name: str) -> bool:
  """Whether ``env_name`` is registered in-process (renders without MuJoCo)."""
  return env_name in registry.registered_environments()


def make_render_environment(env_name: str, seed: int, env_kwargs: Mapping[str, Any]
                            ) -> tuple[dm_env.Environment, Callable[[], np.ndarray]]:
  """An environment that renders, and its ``render() -> uint8 [H, W, 3]``.

  For MuJoCo tasks call it only in a process without TensorFlow (see the
  module docstring); `replay_in_subprocess` does that.
  """
  if is_builtin(env_name):
    env = registry.make_environment(env_name, seed=seed, **env_kwargs)
    if not callable(getattr(env, "render", None)):
      raise RenderUnavailable(f"environment {env_name!r} has no render() method")
    return env, env.render
  env = registry.make_environment(env_name, seed=seed, **env_kwargs)
  if isinstance(env, gym_wrapper.GymnasiumWrapper):
    env.close()
    env = registry.make_environment(env_name, seed=seed, render_mode="rgb_array", **env_kwargs)
    return env, lambda: np.asarray(env.render(), np.uint8)[..., :3]
  return env, lambda: np.asarray(env.render(240, 320), np.uint8)


def replay(env_name: str, env_kwargs: Mapping[str, Any], seed: int,
           episodes: Sequence[np.ndarray], keep: Sequence[Sequence[int]] | None = None
           ) -> tuple[list[list[np.ndarray]], list[float]]:
  """Replays action sequences from a fresh environment seeded with ``seed``.

  Episodes run back to back on one environment, as they were recorded, so
  each episode starts from the same state as in the recording.

  Args:
    env_name, env_kwargs, seed: as given to `make_environment` for the
      recording.
    episodes: each episode's actions, ``[T, action_dim]``.
    keep: per episode, the frame indices to render (frame 0 is the first
      observation, frame t the one after action t); None renders all.

  Returns:
    (frames per episode, return per episode).
  """
  env, render = make_render_environment(env_name, seed, env_kwargs)
  all_frames, returns = [], []
  for i, actions in enumerate(episodes):
    wanted = set(range(len(actions) + 1)) if keep is None else set(int(k) for k in keep[i])
    frames = []
    timestep = env.reset()
    if 0 in wanted:
      frames.append(render())
    total = 0.0
    for t, action in enumerate(np.asarray(actions)):
      if timestep.last():
        raise RenderUnavailable(f"the replay of episode {i} ended after {t} of "
                                f"{len(actions)} actions: {env_name} did not replay "
                                "deterministically")
      timestep = env.step(action)
      total += float(timestep.reward or 0.0)
      if t + 1 in wanted:
        frames.append(render())
    all_frames.append(frames)
    returns.append(total)
  return all_frames, returns


def replay_in_subprocess(env_name: str, env_kwargs: Mapping[str, Any], seed: int,
                         episodes: Sequence[np.ndarray],
                         keep: Sequence[Sequence[int]] | None = None,
                         backends: Sequence[str] | None = None
                         ) -> tuple[list[list[np.ndarray]] | None, list[float] | None, str]:
  """`replay` in a child process, trying offscreen backends in turn.

  Args:
    backends: ``MUJOCO_GL`` values to try; default ``$MUJOCO_GL`` if set,
      else egl then osmesa.

  Returns:
    (frames, returns, report): frames and returns are None when no backend
    rendered; the report says what was tried, or, when the child could not
    make the environment at all, starts with "the render process could not
    make the environment" and gives the error (no backend is tried then).
  """
  if backends is None:
    preferred = os.environ.get("MUJOCO_GL")
    backends = (preferred,) if preferred else MUJOCO_BACKENDS
  keep = [list(range(len(a) + 1)) for a in episodes] if keep is None else keep
  tried = []
  with tempfile.TemporaryDirectory(prefix="pa_rl_render_") as tmp:
    request, output = os.path.join(tmp, "request.npz"), os.path.join(tmp, "frames.npz")
    arrays = {"meta": np.asarray(json.dumps({"env_name": env_name, "seed": int(seed),
                                             "env_kwargs": dict(env_kwargs),
                                             "num_episodes": len(episodes)}))}
    for i, (actions, wanted) in enumerate(zip(episodes, keep)):
      arrays[f"actions_{i}"] = np.asarray(actions, np.float32)
      arrays[f"keep_{i}"] = np.asarray(wanted, np.int64)
    np.savez(request, **arrays)
    for backend in backends:
      env = {**os.environ, "MUJOCO_GL": backend, "PYOPENGL_PLATFORM": backend}
      try:
        result = subprocess.run([sys.executable, "-m", "pa_rl.environments.rendering",
                                 request, output], env=env, capture_output=True, text=True,
                                timeout=_TIMEOUT_S, check=False)
      except subprocess.TimeoutExpired:
        tried.append(f"MUJOCO_GL={backend}: timed out after {_TIMEOUT_S} s")
        continue
      if result.returncode == _ENVIRONMENT_ERROR:
        lines = [l for l in result.stderr.splitlines() if l.startswith(_ENVIRONMENT_PREFIX)]
        why = lines[-1][len(_ENVIRONMENT_PREFIX):] if lines else result.stderr.strip()[-500:]
        return None, None, (f"the render process could not make the environment "
                            f"{env_name!r}: {why}")
      if result.returncode == 0 and os.path.exists(output):
        with np.load(output, allow_pickle=False) as data:
          frames = [[data[f"frame_{i}_{j}"] for j in range(int(data[f"count_{i}"]))]
                    for i in range(len(episodes))]
          returns = [float(r) for r in data["returns"]]
        return frames, returns, f"MUJOCO_GL={backend} works"
      lines = result.stderr.strip().splitlines() or ["no output"]
      why = (f"crashed (signal {-result.returncode})" if result.returncode < 0
             else lines[-1])
      tried.append(f"MUJOCO_GL={backend}: {why[:300]}")
  return None, None, "; ".join(tried)


def _main(request: str, output: str) -> None:
  with np.load(request, allow_pickle=False) as data:
    meta = json.loads(str(data["meta"]))
    count = meta["num_episodes"]
    episodes = [data[f"actions_{i}"] for i in range(count)]
    keep = [data[f"keep_{i}"] for i in range(count)]
  try:
    registry.make_environment(meta["env_name"], seed=meta["seed"], **meta["env_kwargs"]).close()
  except (ValueError, TypeError, KeyError) as e:
    # An unknown name or bad arguments, not a rendering problem (a backend
    # that fails raises RuntimeError or ImportError, and the parent goes on to
    # the next): say so, and stop the parent trying backends.
    print(f"{_ENVIRONMENT_PREFIX}{type(e).__name__}: {e}".replace("\n", " "), file=sys.stderr)
    sys.exit(_ENVIRONMENT_ERROR)
  frames, returns = replay(meta["env_name"], meta["env_kwargs"], meta["seed"], episodes, keep)
  arrays = {"returns": np.asarray(returns, np.float64)}
  for i, episode in enumerate(frames):
    arrays[f"count_{i}"] = np.asarray(len(episode))
    for j, frame in enumerate(episode):
      arrays[f"frame_{i}_{j}"] = np.asarray(frame, np.uint8)
  tmp = output + ".tmp.npz"
  np.savez(tmp, **arrays)
  os.replace(tmp, output)


if __name__ == "__main__":
  if len(sys.argv) != 3:
    sys.exit("usage: python -m pa_rl.environments.rendering REQUEST.npz OUT.npz")
  _main(sys.argv[1], sys.argv[2])
