"""OGBench- and D4RL-layout files -> RLDS, checked against OGBench's own loader."""

import os

import h5py
import numpy as np
import ogbench
import pytest
import rlds

from pa_rl.datasets import importers
from pa_rl.datasets import ogbench_data
from pa_rl.datasets import rlds_io
from pa_rl.datasets import transitions
from pa_rl.environments import ogbench_names


PUZZLE_TASK = "puzzle-3x3-play-singletask-task4-v0"


def _puzzle_file(path, num_episodes=3, length=12, seed=0):
  """An OGBench-layout file (raw, as OGBench's generator writes it) whose rows
  reach the task's goal now and then: some rows' button states are the target."""
  import gymnasium as gym  # pylint: disable=g-import-not-at-top
  env = gym.make("puzzle-3x3-singletask-task4-v0")
  env.reset(seed=0)
  target = env.unwrapped._target_button_states.copy()  # pylint: disable=protected-access
  env.close()
  rng = np.random.default_rng(seed)
  rows = num_episodes * length
  buttons = rng.integers(0, 2, (rows, len(target)))
  buttons[(buttons == target).all(axis=1), 0] ^= 1  # no goal by chance
  goal_rows = [2, 3, 15, length - 1]  # Row length-1 ends episode 0: a goal on a final row.
  buttons[goal_rows] = target
  terminals = np.zeros(rows, bool)
  terminals[length - 1::length] = True
  arrays = {
      "observations": rng.normal(size=(rows, 55)).astype(np.float32),  # The env's size.
      "actions": rng.uniform(-1, 1, (rows, 5)).astype(np.float32),
      "terminals": terminals,
      "qpos": rng.normal(size=(rows, 31)).astype(np.float32),
      "qvel": rng.normal(size=(rows, 30)).astype(np.float32),
      "button_states": buttons,
  }
  np.savez(path, **arrays)
  np.savez(str(path).replace(".npz", "-val.npz"), **arrays)  # OGBench's loader wants one.
  return arrays


def _transitions(episodes):
  """Per-transition arrays of RLDS episodes, in order."""
  out = {k: [] for k in ("obs", "next_obs", "action", "reward", "discount")}
  for episode in episodes:
    steps = episode[rlds.STEPS]
    obs = steps[rlds.OBSERVATION]["state"]
    out["obs"].append(obs[:-1])
    out["next_obs"].append(obs[1:])
    out["action"].append(steps[rlds.ACTION][:-1])
    out["reward"].append(steps[rlds.REWARD][:-1])
    out["discount"].append(steps[rlds.DISCOUNT][:-1])
  return {k: np.concatenate(v) for k, v in out.items()}


def test_ogbench_layout_singletask_matches_ogbench_loader(tmp_path):
  source = tmp_path / "puzzle-3x3-play-v0.npz"
  _puzzle_file(source)
  info = importers.convert(str(source), str(tmp_path / "rlds"), env=PUZZLE_TASK)
  assert info["layout"] == "ogbench" and info["episodes"] == 3
  episodes, meta = rlds_io.load_episodes(str(tmp_path / "rlds"))
  assert meta["env_name"] == "puzzle-3x3-singletask-task4-v0"
  # Each 12-row episode keeps 11 transitions: its last row is the final observation.
  assert [len(e[rlds.STEPS][rlds.REWARD]) for e in episodes] == [12, 12, 12]
  _, train, _ = ogbench.make_env_and_datasets(PUZZLE_TASK, dataset_path=str(source))
  got = _transitions(episodes)
  np.testing.assert_array_equal(got["obs"], train["observations"])
  np.testing.assert_array_equal(got["next_obs"], train["next_observations"])
  np.testing.assert_array_equal(got["action"], train["actions"])
  np.testing.assert_array_equal(got["reward"], train["rewards"])
  np.testing.assert_array_equal(got["discount"], train["masks"])
  # The goal rows inside episodes are discount-0 steps, not ends of episodes.
  assert got["discount"].tolist().count(0.0) == 3  # rows 2, 3 and 15 (row 11 is final)
  assert not any(e[rlds.STEPS][rlds.IS_TERMINAL].any() for e in episodes)
  assert [e["episode_metadata"]["success"] for e in episodes] == [True, True, False]


def test_discount_zero_inside_an_episode_stops_targets():
  # A goal state at step 1 of 4: nothing after it reaches the earlier targets.
  idx = transitions.episode_indices(np.array([-1., -1., 0., -1., 0.]),
                                    np.array([1., 0., 1., 1., 0.]),
                                    gamma=0.5, n_step=3, horizon=1)
  np.testing.assert_allclose(idx["reward"][:2], [-1 + 0.5 * -1, -1])
  np.testing.assert_allclose(idx["discount"][:2], [0.0, 0.0])
  np.testing.assert_allclose(idx["mc_return"][:2], [-1.5, -1.0])
  np.testing.assert_allclose(idx["discount"][2], 0.25)  # later steps bootstrap again


def test_ogbench_layout_with_next_observations_and_rewards(tmp_path):
  arrays = _puzzle_file(tmp_path / "raw.npz")
  _, train, _ = ogbench.make_env_and_datasets(PUZZLE_TASK, dataset_path=str(tmp_path / "raw.npz"))
  # The dict OGBench's loader returns (every row a transition) converts back.
  path = tmp_path / "transitions.npz"
  np.savez(path, **train)
  importers.convert(str(path), str(tmp_path / "rlds"))
  episodes, meta = rlds_io.load_episodes(str(tmp_path / "rlds"))
  got = _transitions(episodes)
  np.testing.assert_array_equal(got["next_obs"], train["next_observations"])
  np.testing.assert_array_equal(got["reward"], train["rewards"])
  np.testing.assert_array_equal(got["discount"], train["masks"])
  assert len(episodes) == 3 and meta["reward_source"] == "file"
  assert arrays["observations"].shape[0] == len(got["obs"]) + 3


def _d4rl_arrays(with_next):
  rng = np.random.default_rng(1)
  rows = 9
  obs = rng.normal(size=(rows, 3)).astype(np.float32)
  arrays = {"observations": obs, "actions": rng.uniform(-2, 2, (rows, 2)).astype(np.float32),
            "rewards": np.arange(rows, dtype=np.float32),
            # Episode 1: rows 0-2, terminates; episode 2: rows 3-6, time limit;
            # episode 3: rows 7-8, cut by the end of the file.
            "terminals": np.array([0, 0, 1, 0, 0, 0, 0, 0, 0], bool),
            "timeouts": np.array([0, 0, 0, 0, 0, 0, 1, 0, 0], bool)}
  if with_next:
    arrays["next_observations"] = rng.normal(size=(rows, 3)).astype(np.float32)
  return arrays


@pytest.mark.parametrize("with_next", [True, False])
def test_d4rl_layout_boundaries_rewards_discounts(tmp_path, with_next):
  arrays = _d4rl_arrays(with_next)
  path = tmp_path / "d4rl.hdf5"
  with h5py.File(path, "w") as f:
    for key, value in arrays.items():
      f.create_dataset(key, data=value)
    f.create_dataset("infos/qpos", data=np.zeros((9, 2)))  # nested groups are read too
  info = importers.convert(str(path), str(tmp_path / "rlds"))
  assert info["layout"] == "d4rl"
  episodes, meta = rlds_io.load_episodes(str(tmp_path / "rlds"))
  steps = [e[rlds.STEPS] for e in episodes]
  # Termination keeps its transition (discount 0, is_terminal); a time limit
  # without next observations leaves the timeout row as the final observation.
  lengths = [4, 5 if with_next else 4, 3 if with_next else 2]
  assert [len(s[rlds.REWARD]) for s in steps] == lengths
  np.testing.assert_array_equal(steps[0][rlds.REWARD], [0, 1, 2, 0])
  np.testing.assert_array_equal(steps[0][rlds.DISCOUNT][:-1], [1, 1, 0])
  assert steps[0][rlds.IS_TERMINAL][-1] and not steps[1][rlds.IS_TERMINAL].any()
  np.testing.assert_array_equal(steps[1][rlds.DISCOUNT][:-1], np.ones(lengths[1] - 1))
  np.testing.assert_array_equal(steps[1][rlds.OBSERVATION]["state"][:4],
                                arrays["observations"][3:7])
  if with_next:
    np.testing.assert_array_equal(steps[1][rlds.OBSERVATION]["state"][-1],
                                  arrays["next_observations"][6])
  # Actions outside [-1, 1] with no environment: the range of the actions
  # taken is the bound.
  taken = np.concatenate([s[rlds.ACTION][:-1] for s in steps])
  assert len(taken) == sum(lengths) - 3
  np.testing.assert_allclose(meta["action_high"], taken.max(axis=0), rtol=1e-6)


@pytest.mark.parametrize("change, message", [
    (lambda a: a.pop("actions"), "needs the key 'actions'"),
    (lambda a: a.update(terminals=a["terminals"][:-1]), "'terminals' has 35 rows"),
    (lambda a: a["observations"].__setitem__((4, 0), np.nan), r"'observations' holds NaN .*row 4"),
    (lambda a: a.pop("button_states"), r"needs the key\(s\) \['button_states'\]"),
])
def test_bad_files_name_the_key(tmp_path, change, message):
  arrays = _puzzle_file(tmp_path / "ok.npz")
  change(arrays)
  np.savez(tmp_path / "bad.npz", **arrays)
  with pytest.raises(importers.DatasetError, match=message):
    importers.convert(str(tmp_path / "bad.npz"), str(tmp_path / "out"), env=PUZZLE_TASK)
  assert not os.path.exists(tmp_path / "out")


def test_unreadable_and_missing_files(tmp_path):
  with pytest.raises(importers.DatasetError, match="does not exist"):
    importers.read_arrays(str(tmp_path / "none.npz"))
  (tmp_path / "x.npz").write_bytes(b"not a zip")
  with pytest.raises(importers.DatasetError, match="is not a .npz file"):
    importers.read_arrays(str(tmp_path / "x.npz"))
  (tmp_path / "x.csv").write_text("1,2")
  with pytest.raises(importers.DatasetError, match=r"must end in \.npz, \.hdf5"):
    importers.read_arrays(str(tmp_path / "x.csv"))


def test_writer_names_discount_zero_for_inner_terminals(tmp_path):
  from pa_rl.testing import fakes  # pylint: disable=g-import-not-at-top
  episode = fakes.make_episode(4)
  episode[rlds.IS_TERMINAL] = np.array([False, True, False, False, False])
  with rlds_io.RLDSWriter(str(tmp_path / "ds"), fakes.DEFAULT_SPEC, 2,
                          -np.ones(2), np.ones(2)) as writer:
    with pytest.raises(rlds_io.DatasetError, match="discount of 0 on that step"):
      writer.add_episode(episode)
    writer.add_episode(fakes.make_episode(4))


def test_dataset_names_parse_like_ogbench():
  name = ogbench_names.resolve_dataset_name("scene-play-singletask-task2-v0")
  assert (name.dataset, name.env_id, name.collection_env_id, name.task) == (
      "scene-play-v0", "scene-singletask-task2-v0", "scene-v0", 2)
  name = ogbench_names.resolve_dataset_name("pointmaze-medium-navigate-v0")
  assert (name.env_id, name.dataset_type, name.singletask) == (
      "pointmaze-medium-v0", "navigate", False)
  assert ogbench_names.resolve_dataset_name("scene-singletask-task2-v0") is None
  assert ogbench_names.resolve_dataset_name("HalfCheetah-v5") is None
  with pytest.raises(importers.DatasetError, match="SAC-trained antmaze locomotion expert"):
    ogbench_data.check_can_generate(
        ogbench_names.resolve_dataset_name("antmaze-medium-navigate-v0"))
