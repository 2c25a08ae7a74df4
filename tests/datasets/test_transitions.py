import numpy as np
import pytest
import rlds

from pa_rl.datasets import transitions


def _episode(rewards, discounts):
  n = len(rewards) + 1
  return {rlds.STEPS: {
      rlds.OBSERVATION: {"x": np.arange(n, dtype=np.float32)[:, None]},
      rlds.ACTION: np.arange(n, dtype=np.float32)[:, None] * 10,
      rlds.REWARD: np.asarray(list(rewards) + [0.0], np.float32),
      rlds.DISCOUNT: np.asarray(list(discounts) + [0.0], np.float32),
      rlds.IS_FIRST: np.arange(n) == 0, rlds.IS_LAST: np.arange(n) == n - 1,
      rlds.IS_TERMINAL: (np.arange(n) == n - 1) & (discounts[-1] == 0),
  }}


def test_one_step_terminal():
  idx = transitions.episode_indices(np.array([1, 2, 3, 0.]), np.array([1, 1, 0, 0.]),
                                    gamma=0.5, n_step=1, horizon=1)
  np.testing.assert_allclose(idx["reward"], [1, 2, 3])
  np.testing.assert_allclose(idx["discount"], [0.5, 0.5, 0.0])
  np.testing.assert_array_equal(idx["next_index"], [1, 2, 3])
  # G_2 = 3; G_1 = 2 + .5 * 3; G_0 = 1 + .5 * 3.5.
  np.testing.assert_allclose(idx["mc_return"], [2.75, 3.5, 3.0])


def test_two_step_terminal_and_truncated():
  term = transitions.episode_indices(np.array([1, 2, 3, 0.]), np.array([1, 1, 0, 0.]),
                                     gamma=0.5, n_step=2, horizon=2)
  np.testing.assert_allclose(term["reward"], [1 + .5 * 2, 2 + .5 * 3, 3])
  np.testing.assert_allclose(term["discount"], [0.25, 0.0, 0.0])
  np.testing.assert_array_equal(term["next_index"], [2, 3, 3])
  np.testing.assert_array_equal(term["chunk_index"], [[0, 1], [1, 2], [2, 2]])
  trunc = transitions.episode_indices(np.array([1, 2, 3, 0.]), np.array([1, 1, 1, 0.]),
                                      gamma=0.5, n_step=2, horizon=1)
  # A time limit is not a termination: the window shrinks and bootstraps.
  np.testing.assert_allclose(trunc["discount"], [0.25, 0.25, 0.5])
  np.testing.assert_array_equal(trunc["next_index"], [2, 3, 3])
  np.testing.assert_allclose(trunc["mc_return"], [1 + .5 * 2 + .25 * 3, 2 + .5 * 3, 3])


def test_time_limited_episode_that_never_reaches_its_goal_keeps_paying_past_the_cut():
  # All -1, cut by the time limit: the return continues, -1 / (1 - 0.5) = -2 at every state,
  # not the zero-tail sums -1.75, -1.5, -1 (Cal-QL's rule for never-successful episodes).
  never = transitions.episode_indices(np.array([-1., -1., -1., 0.]), np.array([1., 1., 1., 0.]),
                                      gamma=0.5, n_step=1, horizon=1)
  np.testing.assert_allclose(never["mc_return"], [-2., -2., -2.])
  # A true termination ends the return, and a reached goal (another reward) keeps the sums.
  ended = transitions.episode_indices(np.array([-1., -1., -1., 0.]), np.array([1., 1., 0., 0.]),
                                      gamma=0.5, n_step=1, horizon=1)
  np.testing.assert_allclose(ended["mc_return"], [-1.75, -1.5, -1.])
  reached = transitions.episode_indices(np.array([-1., -1., 0., 0.]), np.array([1., 1., 1., 0.]),
                                        gamma=0.5, n_step=1, horizon=1)
  np.testing.assert_allclose(reached["mc_return"], [-1.5, -1., 0.])
  # The targets themselves do not change: only the Monte-Carlo return.
  np.testing.assert_allclose(never["reward"], [-1., -1., -1.])
  np.testing.assert_allclose(never["discount"], [0.5, 0.5, 0.5])


def test_build_table_offsets_and_task_ids():
  table = transitions.build_table(
      [_episode([1, 2], [1, 0]), _episode([5, 6, 7], [1, 1, 1])],
      gamma=0.9, n_step=1, horizon=3, task_ids=[0, 4])
  assert table.num_transitions == 5
  np.testing.assert_array_equal(table.obs_index, [0, 1, 3, 4, 5])
  np.testing.assert_array_equal(table.next_index, [1, 2, 4, 5, 6])
  # Chunks never cross into the next episode: they repeat the last action.
  np.testing.assert_array_equal(table.chunk_index[1], [1, 1, 1])
  np.testing.assert_array_equal(table.chunk_index[2], [3, 4, 5])
  np.testing.assert_array_equal(table.observations["task_id"], [0, 0, 0, 4, 4, 4, 4])
  np.testing.assert_allclose(table.discount, [0.9, 0.0, 0.9, 0.9, 0.9], rtol=1e-6)


def test_is_terminal_overrides_discount():
  episode = _episode([1, 2], [1, 1])
  episode[rlds.STEPS][rlds.IS_TERMINAL][-1] = True
  table = transitions.build_table([episode], gamma=0.9)
  np.testing.assert_allclose(table.discount, [0.9, 0.0])


@pytest.mark.parametrize("kwargs, match", [
    ({"gamma": 1.5}, "discount"), ({"gamma": 0.9, "n_step": 0}, "n_step"),
])
def test_bad_arguments(kwargs, match):
  with pytest.raises(ValueError, match=match):
    transitions.build_table([_episode([1], [1])], **kwargs)
