import hypothesis
from hypothesis import strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pa_rl import types
from pa_rl.datasets import offline
from pa_rl.datasets import replay
from pa_rl.testing import fakes

META = types.ShapeMeta(observations={"state": types.ObsSpec((1,))}, action_dim=1)


def _transitions(ids):
  ids = np.asarray(ids, np.float32)
  return types.Transition(
      observation={"state": ids[:, None]}, action=np.zeros((len(ids), 1), np.float32),
      reward=ids, discount=np.ones_like(ids), next_observation={"state": ids[:, None] + 1},
      mc_return=ids)


def _stored(buffer):
  return sorted(np.asarray(buffer.storage.reward[:buffer.size]).tolist())


def test_ring_keeps_the_newest_without_loss_or_duplicates():
  buffer = replay.ReplayBuffer.create(META, capacity=5)
  buffer = buffer.insert(_transitions([0, 1, 2]))
  assert buffer.size == 3 and _stored(buffer) == [0, 1, 2]
  buffer = buffer.insert(_transitions([3, 4, 5, 6]))
  assert buffer.size == 5 and buffer.insert_index == 2
  assert _stored(buffer) == [2, 3, 4, 5, 6]
  buffer = buffer.insert(_transitions(range(7, 19)))  # More than the capacity.
  assert _stored(buffer) == [14, 15, 16, 17, 18]
  assert buffer.total_inserted == 19
  # Observation and next observation stay paired.
  np.testing.assert_array_equal(buffer.storage.next_observation["state"][:, 0],
                                buffer.storage.observation["state"][:, 0] + 1)


def test_sample_only_valid_rows():
  buffer = replay.ReplayBuffer.create(META, capacity=100, seed=1)
  with pytest.raises(ValueError, match="empty"):
    buffer.sample(4)
  buffer = buffer.insert(_transitions([10, 11, 12]))
  buffer, batch = buffer.sample(300)
  assert set(np.asarray(batch.reward).tolist()) == {10, 11, 12}


def test_insert_checks_shapes():
  buffer = replay.ReplayBuffer.create(META, capacity=4)
  bad = _transitions([1, 2])._replace(action=np.zeros((2, 3)))
  with pytest.raises(ValueError, match="actions have shape"):
    buffer.insert(bad)
  bad = _transitions([1, 2])._replace(observation={"pos": np.zeros((2, 1))})
  with pytest.raises(ValueError, match="keys"):
    buffer.insert(bad)


def test_sample_mixed_ratio(tmp_path):
  path = str(tmp_path / "ds")
  fakes.write_dataset(path, (6, 6), action_dim=1, observation_spec={"state": types.ObsSpec((1,))})
  ds = offline.OfflineDataset.load_from_path(path, normalize=False)
  buffer = replay.ReplayBuffer.create(ds.shape_meta, capacity=10)
  ds, buffer, batch = replay.sample_mixed(ds, buffer, 8)
  assert batch.reward.shape == (8,)  # Empty buffer: all offline.
  buffer = buffer.insert(_transitions([100.0] * 3))
  ds, buffer, batch = replay.sample_mixed(ds, buffer, 8, online_fraction=0.25)
  rewards = np.asarray(batch.reward)
  assert (rewards == 100.0).sum() == 2 and rewards.shape == (8,)


def test_normalize_transition_uses_the_offline_statistics():
  norm = types.Normalizer(obs_mean={"state": np.array([1.0])}, obs_std={"state": np.array([2.0])},
                          action_low=np.array([0.0]), action_high=np.array([4.0]))
  t = replay.normalize_transition(_transitions([3.0]), norm)
  np.testing.assert_allclose(t.observation["state"], [[1.0]])
  np.testing.assert_allclose(t.next_observation["state"], [[1.5]])
  np.testing.assert_allclose(t.action, [[-1.0]])


@hypothesis.settings(max_examples=60, deadline=None, derandomize=True)
@hypothesis.given(capacity=st.integers(1, 9),
                  sizes=st.lists(st.integers(1, 14), min_size=1, max_size=8))
def test_ring_property_holds_exactly_the_newest_capacity_transitions(capacity, sizes):
  """Any sequence of inserts: the buffer holds exactly the newest
  min(total, capacity) transitions, each once, with its fields paired."""
  buffer, next_id = replay.ReplayBuffer.create(META, capacity=capacity), 0
  for n in sizes:
    buffer = buffer.insert(_transitions(range(next_id, next_id + n)))
    next_id += n
    newest = list(range(max(0, next_id - capacity), next_id))
    assert buffer.size == len(newest) and buffer.total_inserted == next_id
    assert _stored(buffer) == newest
    stored = np.asarray(buffer.storage.reward[:buffer.size])
    np.testing.assert_array_equal(buffer.storage.observation["state"][:buffer.size, 0], stored)
    np.testing.assert_array_equal(buffer.storage.mc_return[:buffer.size], stored)
    # The next write goes over the oldest transition.
    if buffer.size == capacity:
      assert stored[buffer.insert_index] == newest[0]
