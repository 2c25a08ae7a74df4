"""Tests of the built-in `two_routes` task."""

import dm_env
import numpy as np
import pytest

from pa_rl import environments
from pa_rl.environments import two_routes


def _run(env, policy):
  timestep = env.reset()
  policy.begin_episode()
  steps = 0
  while not timestep.last():
    timestep = env.step(policy.select_action(timestep.observation))
    steps += 1
  return timestep, steps


def test_specs_and_first_observation():
  env = environments.make_environment("two_routes", seed=0)
  obs_spec = env.observation_spec()
  assert set(obs_spec) == {"position", "goal"}
  for s in obs_spec.values():
    assert s.shape == (2,) and s.dtype == np.float32
  spec = env.action_spec()
  assert spec.dtype == np.float32 and spec.shape == (2,)
  np.testing.assert_array_equal(spec.minimum, -1.0)
  np.testing.assert_array_equal(spec.maximum, 1.0)
  timestep = env.reset()
  assert timestep.first()
  obs = timestep.observation
  assert all(v.dtype == np.float32 for v in obs.values())
  np.testing.assert_allclose(obs["position"], [0.0, -0.8], atol=0.05)
  np.testing.assert_allclose(obs["goal"], [0.0, 0.8])


def test_start_noise_is_seeded():
  first = lambda seed: environments.make_environment(
      "two_routes", seed=seed).reset().observation["position"]
  np.testing.assert_array_equal(first(3), first(3))
  assert not np.array_equal(first(3), first(4))
  env = environments.make_environment("two_routes", seed=3)
  starts = [env.reset().observation["position"] for _ in range(3)]
  assert not np.array_equal(starts[0], starts[1])


def test_straight_up_hits_the_obstacle():
  env = two_routes.TwoRoutes(seed=0, reward_type="sparse")
  timestep = env.reset()
  while not timestep.last():
    timestep = env.step(np.array([0.0, 1.0]))
  assert timestep.step_type == dm_env.StepType.LAST
  assert timestep.reward == 0.0 and timestep.discount == 0.0
  assert env.collided and environments.episode_success(env) is False
  assert np.linalg.norm(timestep.observation["position"]) < 0.5


def test_time_limit_truncates_and_arena_clips():
  env = two_routes.TwoRoutes(seed=0, max_steps=30, reward_type="sparse")
  timestep = env.reset()
  steps = 0
  while not timestep.last():
    timestep = env.step(np.array([-1.0, -1.0]))
    steps += 1
  assert steps == 30
  assert timestep.discount == 1.0 and timestep.reward == 0.0  # truncation
  np.testing.assert_array_equal(timestep.observation["position"], [-1.0, -1.0])
  assert env.success is False
  assert env.step(np.zeros(2)).first()  # stepping after the end resets


def test_expert_succeeds_by_both_routes():
  env = environments.make_environment("two_routes", seed=0, reward_type="sparse")
  policy = environments.make_behaviour_policy("two_routes", env, seed=0)
  successes, routes, lengths = [], [], []
  for _ in range(100):
    timestep, steps = _run(env, policy)
    successes.append(environments.episode_success(env))
    assert timestep.reward == float(successes[-1])
    routes.append(env.route)
    assert env.route == policy.route
    lengths.append(steps)
  assert np.mean(successes) >= 0.9
  assert 30 <= routes.count("left") <= 70 and routes.count("right") >= 30
  assert 15 <= np.mean(lengths) <= 35


def test_averaging_the_two_routes_hits_the_obstacle():
  # The reason the task exists: the mean of the two modes points straight up.
  env = two_routes.TwoRoutes(seed=0)
  left = environments.TwoRoutesExpert(np.random.default_rng(0))
  right = environments.TwoRoutesExpert(np.random.default_rng(0))
  left.route, right.route = "left", "right"
  timestep = env.reset()
  first_left = left.select_action(timestep.observation)
  first_right = right.select_action(timestep.observation)
  assert first_left[0] < -0.5 and first_right[0] > 0.5
  while not timestep.last():
    obs = timestep.observation
    action = 0.5 * (left.select_action(obs) + right.select_action(obs))
    timestep = env.step(action)
  assert env.collided


def test_route_of():
  assert two_routes.route_of(np.array([[0.0, -0.8], [-0.5, 0.1]])) == "left"
  assert two_routes.route_of(np.array([[0.0, -0.8], [0.5, 0.0]])) == "right"
  assert two_routes.route_of(np.array([[0.0, -0.8], [0.5, -0.1]])) is None


def test_render():
  env = two_routes.TwoRoutes(seed=0, render_size=96)
  env.reset()
  blank = env.render()
  env.step(np.array([1.0, 1.0]))
  image = env.render()
  assert image.shape == (96, 96, 3) and image.dtype == np.uint8
  assert not np.array_equal(blank, image)  # the point moved, the trail grew
  assert (image == two_routes._GOAL).all(-1).any()
  assert (image == two_routes._OBSTACLE).all(-1).any()


@pytest.mark.parametrize("kind", ["noisy", "random", "mixed"])
def test_behaviour_policies_stay_in_bounds(kind):
  env = environments.make_environment("two_routes", seed=1)
  policy = environments.make_behaviour_policy(
      "two_routes", env, kind=kind, seed=1, noise_std=2.0)
  timestep = env.reset()
  policy.begin_episode()
  for _ in range(50):
    action = policy.select_action(timestep.observation)
    assert action.shape == (2,) and action.dtype == np.float32
    assert np.all(np.abs(action) <= 1.0)
    timestep = env.step(action)
    if timestep.last():
      timestep = env.reset()
      policy.begin_episode()


def test_dense_reward_is_progress_plus_goal_bonus():
  env = two_routes.TwoRoutes(seed=0)
  policy = environments.make_behaviour_policy("two_routes", env, seed=0)
  timestep = env.reset()
  start = timestep.observation["position"]
  total = 0.0
  policy.begin_episode()
  while not timestep.last():
    timestep = env.step(policy.select_action(timestep.observation))
    total += float(timestep.reward)
  end = timestep.observation["position"]
  assert env.success
  # Telescoping shaping: the sum is the distance covered toward the goal + 1.
  expected = np.linalg.norm(start - two_routes.GOAL) - np.linalg.norm(end - two_routes.GOAL) + 1
  assert total == pytest.approx(expected, abs=1e-4)
  crash = two_routes.TwoRoutes(seed=0)
  timestep = crash.reset()
  crash_total = 0.0
  while not timestep.last():
    timestep = crash.step(np.array([0.0, 1.0]))
    crash_total += float(timestep.reward)
  assert crash.collided and crash_total < total - 1.0
  with pytest.raises(ValueError, match="reward_type"):
    two_routes.TwoRoutes(reward_type="shaped")
