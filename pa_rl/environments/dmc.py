"""dm_control suite tasks with the library's observation conventions.

dm_control environments are already `dm_env` environments; this wrapper only
makes them look like every other environment here: observations a plain dict
of float32 arrays (the suite's OrderedDict keys kept, scalars reshaped to
``(1,)``), a float32 action spec, float32 rewards and discounts. The suite's
own time limit ends episodes with discount 1, a truncation.
"""

from __future__ import annotations

from typing import Any, Mapping

import dm_env
from dm_env import specs
import numpy as np

from pa_rl.environments import specs_lib


def dm_control_tasks() -> tuple[tuple[str, str], ...]:
  """All ``(domain, task)`` pairs of the dm_control suite."""
  from dm_control import suite  # pylint: disable=g-import-not-at-top
  return tuple(suite.ALL_TASKS)


def load_dm_control(domain: str, task: str, seed: int = 0,
                    task_kwargs: Mapping[str, Any] | None = None,
                    environment_kwargs: Mapping[str, Any] | None = None,
                    ) -> "DMControlWrapper":
  """Loads a dm_control suite task, seeded, and wraps it.

  Args:
    domain: suite domain, e.g. ``"cartpole"``.
    task: task of that domain, e.g. ``"swingup"``.
    seed: the task's ``random`` seed (initial states of every episode).
    task_kwargs: further task arguments, e.g. ``{"time_limit": 5}``.
    environment_kwargs: arguments for `control.Environment`, e.g.
      ``{"flat_observation": True}``.

  Returns:
    The wrapped environment.
  """
  from dm_control import suite  # pylint: disable=g-import-not-at-top
  task_kwargs = {"random": seed, **(task_kwargs or {})}
  env = suite.load(domain, task, task_kwargs=task_kwargs,
                   environment_kwargs=dict(environment_kwargs or {}))
  return DMControlWrapper(env)


class DMControlWrapper(specs_lib.DictSpecsMixin, dm_env.Environment):
  """Gives a dm_control environment float32 dict observations and specs.

  Attributes:
    environment: the wrapped dm_control environment.
  """

  def __init__(self, environment: dm_env.Environment):
    self.environment = environment
    self._observation_spec = {
        key: specs.Array(_shape(spec.shape), np.float32, name=key)
        for key, spec in environment.observation_spec().items()}
    spec = environment.action_spec()
    self._action_spec = specs.BoundedArray(
        spec.shape, np.float32,
        np.broadcast_to(spec.minimum, spec.shape).astype(np.float32),
        np.broadcast_to(spec.maximum, spec.shape).astype(np.float32),
        name="action")
    self._action_dtype = spec.dtype

  def reset(self) -> dm_env.TimeStep:
    return self._convert(self.environment.reset())

  def step(self, action) -> dm_env.TimeStep:
    action = np.asarray(action, self._action_dtype).reshape(
        self._action_spec.shape)
    return self._convert(self.environment.step(action))

  @property
  def physics(self):
    """The task's MuJoCo physics (dm_control `Physics`)."""
    return self.environment.physics

  @property
  def success(self) -> None:
    """dm_control suite tasks have rewards, not a notion of success."""
    return None

  def render(self, height: int = 240, width: int = 320,
             camera_id: int = 0) -> np.ndarray:
    """A ``uint8 [H, W, 3]`` camera image (needs a MuJoCo GL backend, e.g.
    ``MUJOCO_GL=egl`` on a headless machine)."""
    return self.environment.physics.render(height, width, camera_id=camera_id)

  def close(self):
    self.environment.close()

  def _convert(self, timestep: dm_env.TimeStep) -> dm_env.TimeStep:
    obs = {key: np.asarray(timestep.observation[key], np.float32).reshape(
        spec.shape) for key, spec in self._observation_spec.items()}
    reward = None if timestep.reward is None else np.float32(timestep.reward)
    discount = (None if timestep.discount is None
                else np.float32(timestep.discount))
    return timestep._replace(observation=obs, reward=reward, discount=discount)


def _shape(shape: tuple[int, ...]) -> tuple[int, ...]:
  return tuple(shape) if len(shape) else (1,)
