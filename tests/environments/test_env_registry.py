"""Tests of make_environment: names, dm_control and PointMaze conventions."""

import dm_env
import numpy as np
import pytest

from pa_rl import environments


def test_unknown_name_lists_the_choices():
  with pytest.raises(ValueError) as error:
    environments.make_environment("cheetah-rn")
  message = str(error.value)
  for text in ("'cheetah-rn'", "two_routes", "domain-task", "cartpole-swingup",
               "HalfCheetah-v5", "PointMaze_Medium-v3", "cheetah-run?"):
    assert text in message


def test_register_environment():
  with pytest.raises(ValueError, match="already registered"):
    environments.register_environment("two_routes", environments.TwoRoutes)
  assert "two_routes" in environments.registered_environments()


def test_dm_control_observations_and_specs():
  env = environments.make_environment("walker-walk", seed=0)
  spec = env.observation_spec()
  assert set(spec) == {"orientations", "height", "velocity"}
  assert spec["height"].shape == (1,)  # a scalar, reshaped
  obs = env.reset().observation
  for key, value in obs.items():
    assert value.dtype == np.float32 and value.shape == spec[key].shape
  action_spec = env.action_spec()
  assert action_spec.dtype == np.float32 and action_spec.shape == (6,)
  np.testing.assert_array_equal(action_spec.minimum, -1.0)
  np.testing.assert_array_equal(action_spec.maximum, 1.0)
  assert environments.episode_success(env) is None


def test_dm_control_seed_and_time_limit():
  def first(seed):
    return environments.make_environment(
        "cartpole-swingup", seed=seed).reset().observation["position"]
  np.testing.assert_array_equal(first(0), first(0))
  assert not np.array_equal(first(0), first(1))
  env = environments.make_environment(
      "cartpole-swingup", seed=0, task_kwargs={"time_limit": 0.05})
  timestep = env.reset()
  steps = 0
  while not timestep.last():
    timestep = env.step(np.zeros(1))
    steps += 1
  assert steps == 5
  assert timestep.discount == 1.0 and timestep.reward.dtype == np.float32


def test_point_maze_is_episodic_and_sparse():
  env = environments.make_environment("PointMaze_Medium-v3", seed=0)
  unwrapped = env.gym_env.unwrapped
  assert unwrapped.continuing_task is False
  assert unwrapped.reward_type == "sparse"
  spec = env.observation_spec()
  assert {k: s.shape for k, s in spec.items()} == {
      "observation": (4,), "achieved_goal": (2,), "desired_goal": (2,)}
  timestep = env.reset()
  assert all(v.dtype == np.float32 for v in timestep.observation.values())
  assert environments.episode_success(env) is False
  # Teleporting onto the goal ends the episode as a success with discount 0.
  unwrapped.point_env.set_state(unwrapped.goal.copy(), np.zeros(2))
  timestep = env.step(np.zeros(2))
  assert timestep.step_type == dm_env.StepType.LAST
  assert timestep.discount == 0.0 and timestep.reward == 1.0
  assert environments.episode_success(env) is True


def test_episode_success_reads_through_wrappers():

  class Outer:

    def __init__(self, environment):
      self._environment = environment

  env = environments.make_environment("two_routes")
  env.reset()
  assert environments.episode_success(Outer(Outer(env))) is False
  assert environments.episode_success(object()) is None


def test_ogbench_ids_and_dataset_names_resolve_without_an_import():
  env = environments.make_environment("scene-play-singletask-task2-v0", seed=0)
  assert env.gym_env.spec.id == "scene-singletask-task2-v0"  # the dataset's environment
  assert env.observation_spec()["state"].shape == (40,) and env.action_spec().shape == (5,)
  env.close()


def test_package_prefixed_gym_ids_import_their_package():
  env = environments.make_environment("ogbench:puzzle-3x3-singletask-task4-v0", seed=0)
  assert env.action_spec().shape == (5,)
  env.close()
  with pytest.raises(ValueError, match="module 'no_such_pkg' .* cannot be imported"):
    environments.make_environment("no_such_pkg:Foo-v0")


def test_unknown_gym_id_says_which_packages_register_ids():
  with pytest.raises(ValueError) as info:
    environments.make_environment("scene-singletask-task9-v0")
  message = str(info.value)
  assert "'scene-singletask-task9-v0' is unknown" in message
  assert "gymnasium-robotics and ogbench" in message
  assert "'package:EnvId-v0'" in message and '--gin_bindings="import PACKAGE"' in message
