"""A gymnasium environment seen as a `dm_env.Environment`.

Gymnasium reports the end of an episode with two flags, ``terminated`` (the
task ended: bootstrap with 0) and ``truncated`` (a time limit cut it short:
keep bootstrapping). dm_env carries the same information in the discount of
the last step, which is what the library's TD targets read:

  ============  ==========  =====================  ========
  terminated    truncated   dm_env step            discount
  ============  ==========  =====================  ========
  False         False       `dm_env.transition`    1
  True          any         `dm_env.termination`   0
  False         True        `dm_env.truncation`    1
  ============  ==========  =====================  ========
"""

from __future__ import annotations

from typing import Any, Mapping

import dm_env
from dm_env import specs
import gymnasium as gym
import numpy as np

from pa_rl.environments import specs_lib

# The info keys gymnasium tasks use to report success.
SUCCESS_KEYS = ("success", "is_success")


class GymnasiumWrapper(specs_lib.DictSpecsMixin, dm_env.Environment):
  """Wraps a gymnasium environment with Box or Dict observations and a Box
  action space.

  Observations are always dicts: a Box observation goes under ``"state"``; a
  Dict space keeps its keys (nested Dicts are flattened with ``"/"``). Arrays
  are float32, except uint8 Boxes (images), which stay uint8.

  Seeding: the first `reset` passes ``seed`` to gymnasium; later resets pass
  none, so gymnasium's own generator, seeded once, advances deterministically.
  The action space is seeded with the same seed.

  Attributes:
    gym_env: the wrapped gymnasium environment.
    last_info: the ``info`` dict of the latest `reset` or `step`.
  """

  def __init__(self, gym_env: gym.Env, seed: int | None = 0,
               success_key: str | None = None):
    """Wraps ``gym_env``.

    Args:
      gym_env: a gymnasium environment (usually from `gym.make`, so that it
        carries its `TimeLimit`).
      seed: seed for the first reset and the action space; None leaves
        gymnasium unseeded.
      success_key: the info key that reports success; by default the first
        of ``"success"``, ``"is_success"`` that the task reports.
    """
    if not isinstance(gym_env.action_space, gym.spaces.Box):
      raise ValueError(
          f"action space {gym_env.action_space} is not supported; "
          "GymnasiumWrapper needs a gymnasium.spaces.Box action space")
    self.gym_env = gym_env
    self._seed = seed
    self._success_key = success_key
    self._observation_spec = _observation_spec(gym_env.observation_space)
    space = gym_env.action_space
    self._action_spec = specs.BoundedArray(
        space.shape, np.float32, space.low.astype(np.float32),
        space.high.astype(np.float32), name="action")
    self._action_dtype = space.dtype
    if seed is not None:
      gym_env.action_space.seed(seed)
    self._first_reset = True
    self._needs_reset = True
    self._success = False
    self._reports_success = False
    self.last_info: dict[str, Any] = {}

  def reset(self) -> dm_env.TimeStep:
    if self._first_reset and self._seed is not None:
      obs, info = self.gym_env.reset(seed=self._seed)
    else:
      obs, info = self.gym_env.reset()
    self._first_reset = False
    self._needs_reset = False
    self._success = False
    self._record_info(info)
    return dm_env.restart(self._convert(obs))

  def step(self, action) -> dm_env.TimeStep:
    if self._needs_reset:
      return self.reset()
    action = np.asarray(action, self._action_dtype).reshape(
        self._action_spec.shape)
    obs, reward, terminated, truncated, info = self.gym_env.step(action)
    self._record_info(info)
    obs = self._convert(obs)
    reward = np.float32(reward)
    if terminated:
      self._needs_reset = True
      return dm_env.termination(reward, obs)
    if truncated:
      self._needs_reset = True
      return dm_env.truncation(reward, obs, discount=np.float32(1.0))
    return dm_env.transition(reward, obs, discount=np.float32(1.0))

  @property
  def success(self) -> bool | None:
    """True once the current episode has reported success in its info; None
    when the task never reports success."""
    return self._success if self._reports_success else None

  def render(self):
    """The wrapped environment's `render()` (needs ``render_mode`` set when
    the environment was made)."""
    return self.gym_env.render()

  def close(self):
    self.gym_env.close()

  def _record_info(self, info: Mapping[str, Any]):
    self.last_info = dict(info)
    keys = (self._success_key,) if self._success_key else SUCCESS_KEYS
    for key in keys:
      if key in info:
        self._reports_success = True
        # Success is sticky: a goal-reaching episode stays successful.
        self._success = self._success or bool(info[key])
        break

  def _convert(self, obs) -> dict[str, np.ndarray]:
    flat = _flatten(obs)
    return {key: np.asarray(flat[key], spec.dtype).reshape(spec.shape)
            for key, spec in self._observation_spec.items()}


def _flatten(obs, prefix: str = "") -> dict[str, Any]:
  if isinstance(obs, Mapping):
    out = {}
    for key, value in obs.items():
      out.update(_flatten(value, f"{prefix}{key}/"))
    return out
  return {prefix[:-1] or "state": obs}


def _observation_spec(space: gym.Space,
                      prefix: str = "") -> dict[str, specs.Array]:
  """dm_env specs for a Box or (nested) Dict observation space."""
  if isinstance(space, gym.spaces.Dict):
    out = {}
    for key, sub in space.spaces.items():
      out.update(_observation_spec(sub, f"{prefix}{key}/"))
    return out
  name = prefix[:-1] or "state"
  if not isinstance(space, gym.spaces.Box):
    raise ValueError(
        f"observation space {name!r}: {space} is not supported; "
        "GymnasiumWrapper reads gymnasium.spaces.Box and Dict spaces")
  dtype = np.uint8 if space.dtype == np.uint8 else np.float32
  shape = space.shape if space.shape else (1,)
  return {name: specs.Array(shape, dtype, name=name)}
