"""MuJoCo rollouts are replayed from recorded actions and rendered in a child
process (MuJoCo's renderer cannot share a process with TensorFlow)."""

import numpy as np
import pytest

from pa_rl import environments
from pa_rl.environments import rendering


def _random_rollouts(env_name, seed, num_episodes, max_steps):
  """Random-action episodes (at most ``max_steps`` each, the rest of an
  episode is cut by returning early) and their returns."""
  env = environments.make_environment(env_name, seed=seed)
  spec = env.action_spec()
  rng = np.random.default_rng(seed)
  episodes, returns = [], []
  for _ in range(num_episodes):
    timestep, actions, total = env.reset(), [], 0.0
    while not timestep.last() and len(actions) < max_steps:
      action = rng.uniform(spec.minimum, spec.maximum, spec.shape).astype(np.float32)
      timestep = env.step(action)
      actions.append(action)
      total += float(timestep.reward or 0.0)
    episodes.append(np.stack(actions))
    returns.append(total)
  return episodes, returns


@pytest.mark.parametrize("env_name", ["cartpole-swingup", "PointMaze_Medium-v3"])
def test_replay_in_a_child_process_renders_the_recorded_episodes(env_name):
  # Episodes are cut short, so the second one starts where a full-length
  # first one would not have: only equal resets make the returns agree.
  episodes, returns = _random_rollouts(env_name, seed=3, num_episodes=2, max_steps=300)
  keep = [np.arange(0, len(a) + 1, 25) for a in episodes]
  frames, replayed, report = rendering.replay_in_subprocess(env_name, {}, 3, episodes, keep)
  assert frames is not None, report
  np.testing.assert_allclose(replayed, returns, rtol=1e-5, atol=1e-5)
  assert [len(f) for f in frames] == [len(k) for k in keep]
  first = frames[0][0]
  assert first.dtype == np.uint8 and first.ndim == 3 and first.shape[-1] == 3
  assert min(first.shape[:2]) >= 200 and first.std() > 5  # A scene, not a blank image.
  changed = np.abs(frames[0][-1].astype(float) - first).max(-1) > 30
  assert changed.sum() > 100  # Something moved.


def test_replay_with_another_seed_is_detected():
  episodes, returns = _random_rollouts("cartpole-swingup", seed=3, num_episodes=1,
                                       max_steps=200)
  _, replayed, report = rendering.replay_in_subprocess("cartpole-swingup", {}, 4, episodes,
                                                      [[0]])
  assert replayed is not None, report
  assert not np.allclose(replayed, returns)


def test_unavailable_backend_reports_why():
  frames, returns, report = rendering.replay_in_subprocess(
      "cartpole-swingup", {}, 0, [np.zeros((2, 1), np.float32)], backends=("no-such-gl",))
  assert frames is None and returns is None
  assert "MUJOCO_GL=no-such-gl" in report


def test_builtin_task_renders_in_process():
  env, render = rendering.make_render_environment("two_routes", 0, {})
  env.reset()
  frame = render()
  assert frame.dtype == np.uint8 and frame.shape[-1] == 3 and frame.std() > 5


def test_environment_error_in_the_child_is_reported_as_such():
  frames, returns, report = rendering.replay_in_subprocess(
      "NoSuchEnv-v9", {}, 0, [np.zeros((2, 1), np.float32)], backends=("egl", "osmesa"))
  assert frames is None and returns is None
  assert report.startswith("the render process could not make the environment")
  assert "NoSuchEnv-v9" in report and "is unknown" in report
  assert "MUJOCO_GL" not in report  # no backend was blamed, or tried twice


def test_ogbench_task_replays_in_a_child_without_an_import_line():
  env_name = "puzzle-3x3-singletask-task4-v0"
  episodes, returns = _random_rollouts(env_name, seed=1, num_episodes=1, max_steps=6)
  frames, replayed, report = rendering.replay_in_subprocess(env_name, {}, 1, episodes,
                                                           [[0, 6]])
  assert frames is not None, report
  np.testing.assert_allclose(replayed, returns, rtol=1e-5, atol=1e-5)
  assert frames[0][0].std() > 5
