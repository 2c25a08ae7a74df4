import json
import os

import numpy as np
import pytest
import rlds
import tensorflow_datasets as tfds

from pa_rl import types
from pa_rl.datasets import rlds_io
from pa_rl.testing import fakes

SPEC = {"state": types.ObsSpec((3,)), "image": types.ObsSpec((4, 4, 3), "rgb")}


def test_round_trip_preserves_every_step(tmp_path):
  path = str(tmp_path / "ds")
  written = fakes.write_dataset(path, (5, 7, 4), observation_spec=SPEC)
  # The standard TFDS entry point loads it.
  ds = tfds.builder_from_directory(path).as_dataset(split="train")
  assert len(list(ds)) == 3
  episodes, meta = rlds_io.load_episodes(path)
  assert meta["env_name"] == "fake" and meta["num_episodes"] == 3
  for got, want in zip(episodes, written):
    steps = got[rlds.STEPS]
    for key in SPEC:
      np.testing.assert_array_equal(steps[rlds.OBSERVATION][key], want[rlds.OBSERVATION][key])
      assert steps[rlds.OBSERVATION][key].dtype == want[rlds.OBSERVATION][key].dtype
    for field in (rlds.ACTION, rlds.REWARD, rlds.DISCOUNT, rlds.IS_FIRST, rlds.IS_LAST,
                  rlds.IS_TERMINAL):
      np.testing.assert_array_equal(steps[field], want[field])
    assert got["episode_metadata"]["policy"] == "random"
    np.testing.assert_allclose(got["episode_metadata"]["episode_return"],
                               want[rlds.REWARD].sum(), rtol=1e-5)


def test_aborted_writer_leaves_nothing(tmp_path):
  path = str(tmp_path / "ds")
  with pytest.raises(RuntimeError):
    with rlds_io.RLDSWriter(path, SPEC, 2, -np.ones(2), np.ones(2)) as writer:
      writer.add_episode(fakes.make_episode(3, observation_spec=SPEC))
      raise RuntimeError("killed")
  assert os.listdir(tmp_path) == []


def test_unfinished_writer_is_not_a_dataset(tmp_path):
  path = str(tmp_path / "ds")
  writer = rlds_io.RLDSWriter(path, SPEC, 2, -np.ones(2), np.ones(2))
  writer.add_episode(fakes.make_episode(3, observation_spec=SPEC))
  # Not closed (as if killed): the target path does not exist yet.
  assert not os.path.exists(path)
  with pytest.raises(rlds_io.DatasetError, match="does not exist"):
    rlds_io.load_episodes(path)
  writer.abort()


def test_existing_output_is_kept_unless_overwrite(tmp_path):
  path = str(tmp_path / "ds")
  fakes.write_dataset(path, (3,))
  with pytest.raises(FileExistsError, match="already exists"):
    rlds_io.RLDSWriter(path, fakes.DEFAULT_SPEC, 2, -np.ones(2), np.ones(2))
  fakes_eps = [fakes.make_episode(6, seed=9)]
  with rlds_io.RLDSWriter(path, fakes.DEFAULT_SPEC, 2, -np.ones(2), np.ones(2),
                          overwrite=True) as writer:
    writer.add_episode(fakes_eps[0])
  episodes, _ = rlds_io.load_episodes(path)
  assert len(episodes) == 1 and len(episodes[0][rlds.STEPS][rlds.REWARD]) == 7
  assert sorted(os.listdir(tmp_path)) == ["ds"]


def test_missing_path(tmp_path):
  with pytest.raises(rlds_io.DatasetError, match="does not exist"):
    rlds_io.load_episodes(str(tmp_path / "nope"))


def test_not_an_rlds_directory(tmp_path):
  (tmp_path / "file.txt").write_text("hello")
  with pytest.raises(rlds_io.DatasetError, match="dataset_info.json is missing"):
    rlds_io.load_episodes(str(tmp_path))
  with pytest.raises(rlds_io.DatasetError, match="not a directory"):
    rlds_io.load_episodes(str(tmp_path / "file.txt"))


def test_corrupt_records_are_reported(tmp_path):
  path = str(tmp_path / "ds")
  fakes.write_dataset(path, (5, 5))
  shard = [f for f in os.listdir(path) if ".tfrecord" in f][0]
  with open(os.path.join(path, shard), "r+b") as f:
    f.seek(30)
    f.write(b"\xff" * 40)
  with pytest.raises(rlds_io.DatasetError, match="failed to read records"):
    rlds_io.load_episodes(path)


def test_corrupt_metadata_is_reported(tmp_path):
  path = str(tmp_path / "ds")
  fakes.write_dataset(path, (5,))
  with open(os.path.join(path, "pa_rl_metadata.json"), "w") as f:
    f.write("{not json")
  with pytest.raises(rlds_io.DatasetError, match="not valid JSON"):
    rlds_io.load_episodes(path)


@pytest.mark.parametrize("mutate, match", [
    (lambda s: s[rlds.OBSERVATION].pop("state"), "observation keys"),
    (lambda s: s[rlds.OBSERVATION].__setitem__("extra", np.zeros((4, 1))), "observation keys"),
    (lambda s: s[rlds.ACTION].__setitem__(1, np.nan), "action holds NaN"),
    (lambda s: s[rlds.REWARD].__setitem__(0, np.inf), "reward holds NaN"),
    (lambda s: s[rlds.OBSERVATION]["state"].__setitem__(0, np.nan), r"observation\['state'\] holds NaN"),
    (lambda s: s.__setitem__(rlds.ACTION, np.zeros((4, 5))), "action has shape"),
    (lambda s: s.pop(rlds.DISCOUNT), "missing step fields"),
])
def test_bad_episodes_are_rejected(tmp_path, mutate, match):
  episode = fakes.make_episode(3)
  mutate(episode)
  with rlds_io.RLDSWriter(str(tmp_path / "ds"), fakes.DEFAULT_SPEC, 2, -np.ones(2),
                          np.ones(2)) as writer:
    with pytest.raises(rlds_io.DatasetError, match=match):
      writer.add_episode(episode)
    writer.add_episode(fakes.make_episode(3))


def test_empty_dataset_is_not_written(tmp_path):
  writer = rlds_io.RLDSWriter(str(tmp_path / "ds"), fakes.DEFAULT_SPEC, 2, -np.ones(2),
                              np.ones(2))
  with pytest.raises(rlds_io.DatasetError, match="no episodes"):
    writer.close()
  assert os.listdir(tmp_path) == []
