"""Tests of the scripted experts and make_behaviour_policy."""

import numpy as np
import pytest

from pa_rl import environments


def _episode(env, policy):
  timestep = env.reset()
  policy.begin_episode()
  total = 0.0
  while not timestep.last():
    timestep = env.step(policy.select_action(timestep.observation))
    total += float(timestep.reward)
  return total


@pytest.mark.parametrize("name, episodes", [("PointMaze_Medium-v3", 50),
                                            ("PointMaze_Large-v3", 20)])
def test_point_maze_expert_reaches_the_goal(name, episodes):
  env = environments.make_environment(name, seed=0)
  policy = environments.make_behaviour_policy(name, env, seed=0)
  successes = []
  for _ in range(episodes):
    _episode(env, policy)
    successes.append(environments.episode_success(env))
  assert np.mean(successes) >= 0.9


def test_cartpole_expert_swings_up_and_balances():
  env = environments.make_environment("cartpole-swingup", seed=0)
  policy = environments.make_behaviour_policy("cartpole-swingup", env, seed=0)
  assert min(_episode(env, policy) for _ in range(2)) > 700


def test_tasks_without_expert():
  env = environments.make_environment("cheetah-run", seed=0)
  for kind in ("expert", "noisy", "mixed"):
    with pytest.raises(ValueError, match="two_routes, PointMaze_"):
      environments.make_behaviour_policy("cheetah-run", env, kind=kind)
  for kind, mixture in (("random", None), ("mixed", (0.0, 0.0, 1.0))):
    policy = environments.make_behaviour_policy("cheetah-run", env, kind=kind,
                                                mixture=mixture)
    action = policy.select_action(env.reset().observation)
    assert action.shape == (6,) and np.all(np.abs(action) <= 1.0)
  assert not environments.has_expert("cheetah-run")
  assert environments.has_expert("PointMaze_UMaze-v3")


def test_bad_arguments():
  env = environments.make_environment("two_routes")
  with pytest.raises(ValueError, match="kind='greedy'.*expert, noisy"):
    environments.make_behaviour_policy("two_routes", env, kind="greedy")
  for mixture in ((0.5, 0.5), (-1.0, 1.0, 1.0), {"expret": 1.0}):
    with pytest.raises(ValueError, match="mixture"):
      environments.make_behaviour_policy("two_routes", env, kind="mixed",
                                         mixture=mixture)


def test_mixed_policy_draws_each_component():
  env = environments.make_environment("two_routes")
  policy = environments.make_behaviour_policy("two_routes", env, kind="mixed",
                                              seed=0)
  picks = []
  for _ in range(300):
    policy.begin_episode()
    picks.append(policy.current)
  for name, probability in zip(("expert", "noisy", "random"), (0.4, 0.3, 0.3)):
    assert abs(picks.count(name) / 300 - probability) < 0.1
  only_expert = environments.make_behaviour_policy(
      "two_routes", env, kind="mixed", mixture={"expert": 1.0})
  only_expert.begin_episode()
  assert only_expert.current == "expert"


def test_same_seed_same_actions():
  def actions(seed):
    env = environments.make_environment("two_routes", seed=0)
    policy = environments.make_behaviour_policy("two_routes", env,
                                                kind="mixed", seed=seed)
    out = []
    for _ in range(5):
      timestep = env.reset()
      policy.begin_episode()
      while not timestep.last():
        out.append(policy.select_action(timestep.observation))
        timestep = env.step(out[-1])
    return np.stack(out)
  first = actions(0)
  np.testing.assert_array_equal(first, actions(0))
  other = actions(1)
  assert first.shape != other.shape or not np.array_equal(first, other)


def test_noisy_policy_scales_noise_to_the_action_range():
  env = environments.make_environment("two_routes")
  expert = environments.TwoRoutesExpert(np.random.default_rng(0))
  noisy = environments.NoisyPolicy(expert, env.action_spec(), 0.1,
                                   np.random.default_rng(0))
  obs = {"position": np.array([0.0, 0.6], np.float32),
         "goal": np.array([0.0, 0.8], np.float32)}
  expert.route = "left"
  expert._passed_waypoint = True
  clean = expert.select_action(obs)  # (0, 1): goal straight above
  deltas = np.stack([noisy.select_action(obs) - clean for _ in range(2000)])
  assert abs(deltas[:, 0].std() - 0.1) < 0.01
  assert np.all(deltas[:, 1] <= 1e-6)  # clipped at the upper bound


def test_segments_policy_heads_for_random_goals_and_the_task_goal():
  name = "PointMaze_Medium-v3"
  env = environments.make_environment(name, seed=0)
  policy = environments.make_behaviour_policy(name, env, kind="segments", seed=0,
                                              noise_std=0.0)
  assert isinstance(policy, environments.GoalSegmentsPolicy)
  expert = policy.expert
  timestep = env.reset()
  policy.begin_episode()
  goal = timestep.observation["desired_goal"]
  targets, lengths, length = [], [], 0
  for _ in range(400):
    action = policy.select_action(timestep.observation)
    length += 1
    shown = dict(timestep.observation)
    if policy.target is not None:
      shown["desired_goal"] = policy.target
    # Without noise the action is the expert's for the segment's goal.
    np.testing.assert_allclose(action, expert.select_action(shown), atol=1e-6)
    if not targets or targets[-1] is not policy.target:
      if targets and targets[-1] is not None:  # a random segment ended
        lengths.append(length - 1)
      targets.append(policy.target)
      length = 1
    timestep = env.step(action)
    if timestep.last():
      timestep = env.reset()
      policy.begin_episode()
      goal = timestep.observation["desired_goal"]
  random_goals = [t for t in targets if t is not None]
  assert random_goals and len(random_goals) < len(targets)  # both kinds of segment
  # Random goals are centres of free cells.
  for target in random_goals:
    cell = expert._cell(target)
    assert expert._is_free(cell)
    np.testing.assert_allclose(expert._centre(cell), target)
  assert len({tuple(t) for t in random_goals}) > 1
  assert goal.shape == (2,)
  # Random segments last 25-75 steps (or until the episode ends).
  assert lengths and max(lengths) <= 75 and np.median(lengths) >= 25


def test_segments_data_is_mixed_quality():
  name = "PointMaze_Medium-v3"
  env = environments.make_environment(name, seed=0)
  rates = {}
  for kind in ("expert", "segments"):
    policy = environments.make_behaviour_policy(name, env, kind=kind, seed=1,
                                                noise_std=0.3)
    successes = []
    for _ in range(20):
      _episode(env, policy)
      successes.append(environments.episode_success(env))
    rates[kind] = np.mean(successes)
  assert rates["expert"] >= 0.9
  assert 0.1 <= rates["segments"] <= rates["expert"] - 0.15


def test_segments_in_a_mixture_and_errors():
  name = "PointMaze_UMaze-v3"
  env = environments.make_environment(name, seed=0)
  policy = environments.make_behaviour_policy(
      name, env, kind="mixed", mixture={"expert": 1.0, "segments": 1.0}, seed=0)
  picks = set()
  for _ in range(40):
    policy.begin_episode()
    picks.add(policy.current)
  assert picks == {"expert", "segments"}
  assert isinstance(policy.policies["segments"], environments.GoalSegmentsPolicy)
  # Three probabilities keep meaning (expert, noisy, random): no segments.
  three = environments.make_behaviour_policy(name, env, kind="mixed",
                                             mixture=(0.2, 0.3, 0.5))
  assert set(three.policies) == {"expert", "noisy", "random"}
  with pytest.raises(ValueError, match="mixture.*3 or 4"):
    environments.make_behaviour_policy(name, env, kind="mixed", mixture=(1, 0, 0, 0, 1))
  two_routes = environments.make_environment("two_routes")
  with pytest.raises(ValueError, match="sample_goal.*TwoRoutesExpert"):
    environments.make_behaviour_policy("two_routes", two_routes, kind="segments")
  expert = policy.policies["expert"]
  with pytest.raises(ValueError, match="segment_steps"):
    environments.GoalSegmentsPolicy(expert, expert.sample_goal, env.action_spec(), 0.1,
                                    np.random.default_rng(0), segment_steps=(5, 2))
  with pytest.raises(ValueError, match="goal_probability"):
    environments.GoalSegmentsPolicy(expert, expert.sample_goal, env.action_spec(), 0.1,
                                    np.random.default_rng(0), goal_probability=1.5)
  segments = policy.policies["segments"]
  with pytest.raises(KeyError, match="desired_goal"):
    segments.select_action({"observation": np.zeros(4)})
