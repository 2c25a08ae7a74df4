"""Learner checkpoints: exact resume, atomic files, clear errors."""

import os

import jax
import numpy as np
import pytest

import pa_rl as ljx
from pa_rl.agents import parl
from pa_rl.agents import state as state_lib
from pa_rl.testing import fakes
from pa_rl.testing import tiny


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
  path = str(tmp_path_factory.mktemp("data") / "ds")
  fakes.write_dataset(path, (8, 8, 8))
  return ljx.OfflineDataset.load_from_path(path, seed=5)


def _builder(dataset):
  networks = parl.make_networks(dataset.shape_meta, policy_type="diffusion",
                                policy_config=tiny.POLICY_CONFIGS["diffusion"],
                                critic_config=tiny.CRITIC_CONFIGS["ensemble"])
  config = parl.PARLConfig(batch_size=8, num_cql_actions=2,
                           action_optimization=tiny.ACTION_OPTIMIZATION)
  return parl.PARLBuilder(config, networks)


def _leaves(tree):
  return [np.asarray(x) for x in jax.tree.leaves(tree)]


def test_save_restore_continue_equals_uninterrupted(dataset, tmp_path):
  builder = _builder(dataset)
  straight = builder.make_learner(dataset, seed=1)
  for _ in range(4):
    straight.step()

  first = builder.make_learner(dataset, seed=1)
  for _ in range(2):
    first.step()
  path = str(tmp_path / "ckpt.npz")
  first.save_checkpoint(path)
  resumed = builder.make_learner(dataset, seed=99)  # Different init: all comes from the file.
  resumed.restore_checkpoint(path)
  assert int(resumed.state.step) == 2
  for _ in range(2):
    resumed.step()
  for a, b in zip(_leaves(straight.save()), _leaves(resumed.save())):
    np.testing.assert_array_equal(a, b)  # Bit for bit on the CPU.


def test_checkpoint_write_is_atomic_and_errors_are_clear(dataset, tmp_path):
  builder = _builder(dataset)
  learner = builder.make_learner(dataset, seed=1)
  path = str(tmp_path / "ckpt.npz")
  learner.save_checkpoint(path)
  assert os.listdir(tmp_path) == ["ckpt.npz"]  # No temporary file left behind.
  data = open(path, "rb").read()
  with open(path, "wb") as f:
    f.write(data[: len(data) // 2])  # Truncated, as by a crash mid-copy.
  with pytest.raises(state_lib.CheckpointError, match="unreadable"):
    learner.restore_checkpoint(path)
  with pytest.raises(state_lib.CheckpointError, match="does not exist"):
    learner.restore_checkpoint(str(tmp_path / "missing.npz"))
  # A checkpoint of another network size is refused, not silently loaded.
  other = parl.PARLBuilder(builder.config, parl.make_networks(
      dataset.shape_meta, policy_type="gaussian", policy_config={"hidden_sizes": (4,)},
      critic_config=tiny.CRITIC_CONFIGS["ensemble"])).make_learner(dataset)
  other.save_checkpoint(path)
  with pytest.raises(state_lib.CheckpointError, match="expects|expected"):
    learner.restore_checkpoint(path)


def test_nonfinite_update_is_skipped_and_reported(dataset):
  builder = _builder(dataset)
  learner = builder.make_learner(dataset, seed=1)
  learner.step()
  learner.flush()
  good = _leaves(learner.state.policy_params)
  poisoned = jax.tree.map(lambda x: x * np.nan, learner.state.critic_params)
  learner.restore({**learner.save(),
                   "state": learner.state._replace(critic_params=poisoned)})
  learner.step()
  with pytest.raises(Exception, match="non-finite"):
    learner.flush()
  # The poisoned step did not touch the policy.
  for a, b in zip(good, _leaves(learner.state.policy_params)):
    np.testing.assert_array_equal(a, b)
