"""`make_environment`: one name -> one seeded `dm_env.Environment`.

Names resolve in this order:
  1. names registered with `register_environment` (built in: ``two_routes``);
  2. gymnasium ids (``HalfCheetah-v5``, ``Hopper-v5``, ``PointMaze_Medium-v3``).
     gymnasium-robotics and OGBench (``scene-singletask-task2-v0``, and
     OGBench dataset names such as ``scene-play-singletask-task2-v0``, which
     mean their environment) register their ids the first time one is asked
     for, when they are installed. Another package's ids: spell the name
     ``package:EnvId-v0`` and the package is imported first (gymnasium's own
     convention), which every process that rebuilds the environment from its
     name then repeats;
  3. dm_control suite tasks spelled ``domain-task`` (``cheetah-run``,
     ``cartpole-swingup``, ``walker-walk``).
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import io
from typing import Callable

import dm_env

from pa_rl.environments import dmc
from pa_rl.environments import gym_wrapper
from pa_rl.environments import ogbench_names
from pa_rl.environments import two_routes

# factory(seed, **kwargs) -> dm_env.Environment
EnvironmentFactory = Callable[..., dm_env.Environment]

_REGISTRY: dict[str, EnvironmentFactory] = {}
_GYM_EXAMPLES = ("HalfCheetah-v5", "Hopper-v5", "PointMaze_Medium-v3",
                 "PointMaze_Large-v3")
_DMC_EXAMPLES = ("cheetah-run", "cartpole-swingup", "walker-walk")
# Goal-reaching maze tasks: episodic (reaching the goal ends the episode) with
# the sparse 0/1 reward, unless the caller says otherwise.
_MAZE_DEFAULTS = {"continuing_task": False, "reward_type": "sparse"}


def register_environment(name: str, factory: EnvironmentFactory,
                         overwrite: bool = False) -> None:
  """Makes ``make_environment(name, seed, **kwargs)`` call
  ``factory(seed=seed, **kwargs)``.

  Args:
    name: the environment name.
    factory: builds a seeded `dm_env.Environment`.
    overwrite: replace an existing registration instead of raising.
  """
  if name in _REGISTRY and not overwrite:
    raise ValueError(f"environment {name!r} is already registered")
  _REGISTRY[name] = factory


def registered_environments() -> tuple[str, ...]:
  """Names registered with `register_environment` (not the gymnasium ids
  and dm_control tasks, which resolve on demand)."""
  return tuple(sorted(_REGISTRY))


def make_environment(name: str, seed: int = 0, **kwargs) -> dm_env.Environment:
  """Builds the environment called ``name``, seeded with ``seed``.

  Args:
    name: a registered name (``two_routes``), a gymnasium id or a dm_control
      ``domain-task``.
    seed: seeds every source of randomness of the environment.
    **kwargs: passed to the environment's constructor: the built-in factory,
      `gymnasium.make` (e.g. ``max_episode_steps``), or for dm_control
      ``task_kwargs`` / ``environment_kwargs``.

  Returns:
    A `dm_env.Environment` with dict-of-float32 observations and a float32
    `BoundedArray` action spec.

  Raises:
    ValueError: ``name`` is none of the above; the message lists the choices.
  """
  if name in _REGISTRY:
    return _REGISTRY[name](seed=seed, **kwargs)
  gym_id = _gym_id(name)
  if gym_id is not None:
    return _make_gym(gym_id, seed, **kwargs)
  domain_task = _dm_control_task(name)
  if domain_task is not None:
    return dmc.load_dm_control(*domain_task, seed=seed, **kwargs)
  raise ValueError(_unknown_name_message(name))


def _make_gym(name: str, seed: int, **kwargs) -> gym_wrapper.GymnasiumWrapper:
  import gymnasium as gym  # pylint: disable=g-import-not-at-top
  if name.startswith(("PointMaze", "AntMaze")):
    kwargs = {**_MAZE_DEFAULTS, **kwargs}
  success_key = kwargs.pop("success_key", None)
  return gym_wrapper.GymnasiumWrapper(gym.make(name, **kwargs), seed=seed,
                                      success_key=success_key)


def _gym_id(name: str) -> str | None:
  """The gymnasium id ``name`` stands for, or None when it is none."""
  import gymnasium as gym  # pylint: disable=g-import-not-at-top
  if ":" in name:
    module, env_id = name.split(":", 1)
    try:
      importlib.import_module(module)
    except ImportError as e:
      raise ValueError(f"environment name={name!r}: module {module!r} (the part before "
                       f"':') cannot be imported: {e}") from e
    if env_id not in gym.registry:
      raise ValueError(f"environment name={name!r}: importing {module!r} did not "
                       f"register the gymnasium id {env_id!r}")
    return name  # gym.make imports the module itself.
  if name not in gym.registry:
    # Cheap (~30 ms and ~250 ms), and cheaper than importing dm_control to
    # rule them out.
    _register_gymnasium_robotics()
  if name not in gym.registry:
    ogbench_names.register()
    dataset = ogbench_names.parse_dataset_name(name)
    if dataset is not None and dataset.env_id in gym.registry:
      return dataset.env_id
  return name if name in gym.registry else None


_ROBOTICS_REGISTERED = False


def _register_gymnasium_robotics() -> None:
  """Registers gymnasium-robotics' ids once (it prints a notice about Adroit
  reward versions to stderr on import, which is kept quiet)."""
  global _ROBOTICS_REGISTERED
  if _ROBOTICS_REGISTERED:
    return
  import gymnasium as gym  # pylint: disable=g-import-not-at-top
  _ROBOTICS_REGISTERED = True
  try:
    with contextlib.redirect_stderr(io.StringIO()):
      import gymnasium_robotics  # pylint: disable=g-import-not-at-top
  except ImportError:
    return  # Optional: without it, its ids are simply unknown.
  gym.register_envs(gymnasium_robotics)


def _dm_control_task(name: str) -> tuple[str, str] | None:
  if "-" not in name:
    return None
  domain, task = name.split("-", 1)
  return (domain, task) if (domain, task) in dmc.dm_control_tasks() else None


def _unknown_name_message(name: str) -> str:
  import gymnasium as gym  # pylint: disable=g-import-not-at-top
  _register_gymnasium_robotics()
  has_ogbench = ogbench_names.register()
  known = (list(_REGISTRY) + [f"{d}-{t}" for d, t in dmc.dm_control_tasks()]
           + list(gym.registry))
  close = difflib.get_close_matches(name, known, n=3)
  hint = f" Did you mean: {', '.join(close)}?" if close else ""
  return (
      f"environment name={name!r} is unknown; choose one of: "
      f"{', '.join(sorted(_REGISTRY))} (built in); a dm_control suite task "
      f"as domain-task (e.g. {', '.join(_DMC_EXAMPLES)}); or a gymnasium id "
      f"(e.g. {', '.join(_GYM_EXAMPLES)}).{hint} Gymnasium ids come from the packages "
      "that register them: gymnasium, gymnasium-robotics and ogbench "
      f"({'installed' if has_ogbench else 'not installed: pip install ogbench'}) are "
      "imported here when needed; for another package spell the name "
      "'package:EnvId-v0' (the package is imported first, in every process that "
      "makes the environment), or import it in the gin config "
      "(--gin_bindings=\"import PACKAGE\").")


register_environment("two_routes", two_routes.TwoRoutes)
