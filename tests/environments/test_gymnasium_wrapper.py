"""Tests of GymnasiumWrapper: step types, discounts, observations, seeds."""

import dm_env
import gymnasium as gym
import numpy as np
import pytest

from pa_rl import environments
from pa_rl.environments import gym_wrapper


class _TinyEnv(gym.Env):
  """Counts steps; terminates at ``terminate_at``; reports success there."""

  def __init__(self, terminate_at=None, dict_obs=False):
    self.terminate_at = terminate_at
    self.dict_obs = dict_obs
    self.action_space = gym.spaces.Box(-2.0, 2.0, (3,), np.float64)
    box = gym.spaces.Box(-np.inf, np.inf, (2,), np.float64)
    if dict_obs:
      self.observation_space = gym.spaces.Dict({
          "pos": box,
          "scalar": gym.spaces.Box(0.0, 1.0, (), np.float64),
          "nested": gym.spaces.Dict({"vel": box}),
      })
    else:
      self.observation_space = box
    self.reset_seeds = []
    self.count = 0

  def reset(self, *, seed=None, options=None):
    super().reset(seed=seed)
    self.reset_seeds.append(seed)
    self.count = 0
    return self._obs(), {"success": False, "count": 0}

  def step(self, action):
    assert action.dtype == np.float64 and action.shape == (3,)
    self.count += 1
    terminated = self.count == self.terminate_at
    info = {"success": terminated, "count": self.count}
    return self._obs(), 1.0, terminated, False, info

  def _obs(self):
    start = self.np_random.uniform(size=2)
    pos = start + self.count
    if not self.dict_obs:
      return pos
    return {"pos": pos, "scalar": np.float64(0.5),
            "nested": {"vel": np.ones(2)}}


def _wrap(terminate_at=None, limit=None, **kwargs):
  env = _TinyEnv(terminate_at, **kwargs)
  if limit is not None:
    env = gym.wrappers.TimeLimit(env, max_episode_steps=limit)
  return gym_wrapper.GymnasiumWrapper(env, seed=7)


def _last(env, max_steps=100):
  timestep = env.reset()
  for steps in range(1, max_steps + 1):
    timestep = env.step(np.zeros(3))
    if timestep.last():
      return timestep, steps
  raise AssertionError("episode did not end")


@pytest.mark.parametrize(
    "terminate_at, limit, steps, discount",
    [(3, 10, 3, 0.0),     # termination: bootstrap with 0
     (None, 4, 4, 1.0),   # truncation by the time limit: keep bootstrapping
     (4, 4, 4, 0.0)])     # both at once: termination wins
def test_termination_vs_truncation(terminate_at, limit, steps, discount):
  env = _wrap(terminate_at, limit)
  timestep, n = _last(env)
  assert n == steps
  assert timestep.step_type == dm_env.StepType.LAST
  assert timestep.discount == discount
  assert timestep.reward == 1.0 and timestep.reward.dtype == np.float32
  assert env.step(np.zeros(3)).first()  # stepping past the end resets


def test_mid_episode_steps_have_discount_one():
  env = _wrap(None, 5)
  assert env.reset().discount is None
  timestep = env.step(np.zeros(3))
  assert timestep.mid() and timestep.discount == 1.0


def test_box_observation_goes_under_state():
  env = _wrap(None, 5)
  spec = env.observation_spec()
  assert list(spec) == ["state"]
  assert spec["state"].shape == (2,) and spec["state"].dtype == np.float32
  obs = env.reset().observation
  assert obs["state"].dtype == np.float32 and obs["state"].shape == (2,)


def test_dict_observation_keeps_keys():
  env = _wrap(None, 5, dict_obs=True)
  spec = env.observation_spec()
  assert set(spec) == {"pos", "scalar", "nested/vel"}
  assert spec["scalar"].shape == (1,)
  obs = env.step(np.zeros(3)).observation  # steps from a fresh reset
  assert set(obs) == set(spec)
  for key, value in obs.items():
    assert value.dtype == np.float32 and value.shape == spec[key].shape


def test_action_spec_from_box():
  spec = _wrap().action_spec()
  assert spec.dtype == np.float32 and spec.shape == (3,)
  np.testing.assert_array_equal(spec.minimum, -2.0)
  np.testing.assert_array_equal(spec.maximum, 2.0)


def test_only_first_reset_is_seeded_and_episodes_are_deterministic():
  envs = [_wrap(2, 10) for _ in range(2)]
  firsts = []
  for env in envs:
    starts = [env.reset().observation["state"] for _ in range(3)]
    firsts.append(starts)
    assert env.gym_env.unwrapped.reset_seeds == [7, None, None]
  np.testing.assert_array_equal(firsts[0], firsts[1])
  assert not np.array_equal(firsts[0][0], firsts[0][1])


def test_last_info_and_success():
  env = _wrap(2, 10)
  env.reset()
  assert env.last_info["count"] == 0 and env.success is False
  env.step(np.zeros(3))
  assert environments.episode_success(env) is False
  env.step(np.zeros(3))
  assert env.last_info == {"success": True, "count": 2}
  assert environments.episode_success(env) is True
  env.reset()
  assert environments.episode_success(env) is False


def test_unsupported_spaces_are_rejected():
  env = _TinyEnv()
  env.action_space = gym.spaces.Discrete(3)
  with pytest.raises(ValueError, match="Discrete"):
    gym_wrapper.GymnasiumWrapper(env)


def test_real_task_with_short_time_limit():
  env = environments.make_environment("Hopper-v5", seed=0, max_episode_steps=5)
  assert environments.episode_success(env) is None
  spec = env.action_spec()
  assert spec.dtype == np.float32 and spec.shape == (3,)
  timestep, steps = _last_zero(env)
  assert steps == 5 and timestep.discount == 1.0  # truncated, not terminated
  assert timestep.observation["state"].shape == (11,)


def _last_zero(env):
  timestep = env.reset()
  steps = 0
  while not timestep.last():
    timestep = env.step(np.zeros(env.action_spec().shape))
    steps += 1
  return timestep, steps


def test_real_task_same_seed_same_trajectory():
  def trajectory(seed):
    env = environments.make_environment("Hopper-v5", seed=seed,
                                        max_episode_steps=10)
    policy = environments.make_behaviour_policy("Hopper-v5", env, kind="random",
                                                seed=seed)
    timestep = env.reset()
    states = [timestep.observation["state"]]
    while not timestep.last():
      timestep = env.step(policy.select_action(timestep.observation))
      states.append(timestep.observation["state"])
    return np.stack(states)
  np.testing.assert_array_equal(trajectory(0), trajectory(0))
  assert not np.array_equal(trajectory(0)[0], trajectory(1)[0])
