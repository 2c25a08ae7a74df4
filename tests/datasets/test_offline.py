import jax
import jax.numpy as jnp
import numpy as np
import pytest
import rlds

from pa_rl import types
from pa_rl.datasets import offline
from pa_rl.datasets import rlds_io
from pa_rl.testing import fakes


@pytest.fixture(scope="module")
def dataset_path(tmp_path_factory):
  path = str(tmp_path_factory.mktemp("data") / "ds")
  fakes.write_dataset(path, (5, 7, 4), action_dim=2)
  return path


def test_load_shape_meta_and_size(dataset_path):
  ds = offline.OfflineDataset.load_from_path(dataset_path, normalize=True, seed=0)
  assert ds.size == 5 + 7 + 4
  meta = ds.shape_meta
  assert meta.observations == {"state": types.ObsSpec((3,))}
  assert meta.action_shape == (2,) and meta.num_tasks == 0
  ds, batch = ds.sample(8)
  assert batch.observation["state"].shape == (8, 3)
  assert batch.action.shape == (8, 2) and batch.reward.shape == (8,)


def test_normalization_is_invertible(dataset_path):
  raw = offline.OfflineDataset.load_from_path(dataset_path, normalize=False)
  norm = offline.OfflineDataset.load_from_path(dataset_path, normalize=True)
  normalizer = norm.shape_meta.normalizer
  obs = norm.data["observations"]
  np.testing.assert_allclose(np.mean(obs["state"], 0), 0, atol=1e-5)
  np.testing.assert_allclose(np.std(obs["state"], 0), 1, atol=1e-4)
  back = normalizer.unnormalize_observation(obs)["state"]
  np.testing.assert_allclose(back, raw.data["observations"]["state"], atol=1e-5)
  # Actions use the environment's bounds [-1, 1]: the map is the identity.
  np.testing.assert_allclose(norm.data["actions"], raw.data["actions"], atol=1e-6)
  a = jnp.array([[0.3, -0.7]])
  np.testing.assert_allclose(normalizer.unnormalize_action(normalizer.normalize_action(a)), a,
                             atol=1e-6)


def test_action_bounds_from_data_when_unknown():
  episodes = [{rlds.STEPS: fakes.make_episode(20, seed=s)} for s in range(3)]
  for e in episodes:
    e[rlds.STEPS][rlds.ACTION][:-1] *= 3.0  # Range [-3, 3], final placeholder 0.
  ds = offline.OfflineDataset.from_episodes(episodes)
  actions = np.asarray(ds.data["actions"])[np.asarray(ds.data["obs_index"])]
  assert actions.min() == pytest.approx(-1.0) and actions.max() == pytest.approx(1.0)
  norm = ds.shape_meta.normalizer
  np.testing.assert_allclose(norm.unnormalize_action(actions),
                             np.concatenate([e[rlds.STEPS][rlds.ACTION][:-1] for e in episodes]),
                             atol=1e-5)


def test_sampling_matches_hand_gathered_transitions(dataset_path):
  ds = offline.OfflineDataset.load_from_path(dataset_path, normalize=False, discount=0.5)
  episodes, _ = rlds_io.load_episodes(dataset_path)
  steps = episodes[1][rlds.STEPS]  # 7 transitions, truncated episode.
  batch = offline.gather(ds.data, jnp.array([5 + 2]))  # Third transition of episode 1.
  np.testing.assert_array_equal(batch.observation["state"][0], steps[rlds.OBSERVATION]["state"][2])
  np.testing.assert_array_equal(batch.next_observation["state"][0],
                                steps[rlds.OBSERVATION]["state"][3])
  np.testing.assert_array_equal(batch.action[0], steps[rlds.ACTION][2])
  assert float(batch.reward[0]) == pytest.approx(float(steps[rlds.REWARD][2]))
  assert float(batch.discount[0]) == pytest.approx(0.5)
  r = steps[rlds.REWARD][2:7]
  assert float(batch.mc_return[0]) == pytest.approx(sum(0.5 ** i * x for i, x in enumerate(r)),
                                                    rel=1e-5)


def test_chunks_and_n_step(dataset_path):
  ds = offline.OfflineDataset.load_from_path(dataset_path, normalize=False, n_step=3,
                                             action_horizon=3, discount=0.9)
  assert ds.shape_meta.action_shape == (3, 2)
  batch = offline.gather(ds.data, jnp.array([0, 4]))  # first and last of episode 0
  episodes, _ = rlds_io.load_episodes(dataset_path)
  steps = episodes[0][rlds.STEPS]
  np.testing.assert_array_equal(batch.action[0], steps[rlds.ACTION][0:3])
  np.testing.assert_array_equal(batch.action[1], np.stack([steps[rlds.ACTION][4]] * 3))
  r = steps[rlds.REWARD]
  assert float(batch.reward[0]) == pytest.approx(r[0] + 0.9 * r[1] + 0.81 * r[2], rel=1e-5)
  assert float(batch.discount[0]) == pytest.approx(0.9 ** 3)
  assert float(batch.discount[1]) == 0.0  # Episode 0 terminates.


def test_sampling_is_deterministic_given_the_seed(dataset_path):
  a = offline.OfflineDataset.load_from_path(dataset_path, seed=3)
  b = offline.OfflineDataset.load_from_path(dataset_path, seed=3)
  c = offline.OfflineDataset.load_from_path(dataset_path, seed=4)
  a, ba = a.sample(32)
  b, bb = b.sample(32)
  c, bc = c.sample(32)
  np.testing.assert_array_equal(ba.action, bb.action)
  assert not np.array_equal(ba.action, bc.action)
  _, ba2 = a.sample(32)
  assert not np.array_equal(ba.action, ba2.action)  # The key advances.


def test_sampling_is_uniform(dataset_path):
  ds = offline.OfflineDataset.load_from_path(dataset_path, normalize=False)
  # Label each transition by its own obs index to count hits.
  counts = np.zeros(ds.size)
  lookup = {int(i): row for row, i in enumerate(np.asarray(ds.data["obs_index"]))}
  state = np.asarray(ds.data["observations"]["state"])
  by_value = {state[i].tobytes(): row for i, row in lookup.items()}
  for _ in range(50):
    ds, batch = ds.sample(256)
    for obs in np.asarray(batch.observation["state"]):
      counts[by_value[obs.tobytes()]] += 1
  expected = counts.sum() / ds.size
  chi2 = ((counts - expected) ** 2 / expected).sum()
  # 15 degrees of freedom: P(chi2 > 37.7) = 0.001 under uniform sampling.
  assert chi2 < 37.7, (chi2, counts)


def test_without_replacement(dataset_path):
  ds = offline.OfflineDataset.load_from_path(dataset_path)
  ds, batch = ds.sample(16, replace=False)
  rows = {np.asarray(o).tobytes() for o in batch.observation["state"]}
  assert len(rows) == 16
  with pytest.raises(ValueError, match="larger than the dataset"):
    ds.sample(17, replace=False)
  with pytest.raises(ValueError, match="batch_size"):
    ds.sample(0)


def test_multitask_and_images(tmp_path):
  spec = {"state": types.ObsSpec((2,)), "camera": types.ObsSpec((4, 4, 3), "rgb")}
  paths = []
  for task in range(2):
    paths.append(str(tmp_path / f"task{task}"))
    fakes.write_dataset(paths[-1], (4, 4), observation_spec=spec, seed=10 * task)
  ds = offline.OfflineDataset.load_from_paths(paths)
  assert ds.shape_meta.num_tasks == 2
  assert ds.shape_meta.observations["camera"].type == "rgb"
  batch = offline.gather(ds.data, jnp.arange(ds.size))
  np.testing.assert_array_equal(batch.observation["task_id"], [0] * 8 + [1] * 8)
  assert batch.observation["camera"].dtype == jnp.uint8


def test_sample_under_jit_is_fast_path(dataset_path):
  ds = offline.OfflineDataset.load_from_path(dataset_path)
  key, batch = offline._sample(ds.data, ds.key, 4, True)
  advanced, public = ds.sample(4)
  # The public method is the jitted function: same key, same rows, same next key.
  assert jax.tree.structure(batch) == jax.tree.structure(public)
  for ours, theirs in zip(jax.tree.leaves(batch), jax.tree.leaves(public)):
    np.testing.assert_array_equal(ours, theirs)
  np.testing.assert_array_equal(key, advanced.key)


def test_batches_read_like_jaxrl_dicts(dataset_path):
  ds = offline.OfflineDataset.load_from_path(dataset_path, normalize=True, seed=0)
  _, batch = ds.sample(8)
  assert batch["observations"] is batch.observation and batch["observation"] is batch.observation
  assert batch["actions"] is batch.action and batch["rewards"] is batch.reward
  assert batch["next_observations"] is batch.next_observation
  assert batch[1] is batch.action  # tuple indexing is unchanged
  with pytest.raises(KeyError, match="'masks': use batch.discount"):
    batch["masks"]  # pylint: disable=pointless-statement
  with pytest.raises(KeyError, match="no key 'obs'.*its fields are observation, action"):
    batch["obs"]  # pylint: disable=pointless-statement
  # Still a pytree of the same six fields under jit.
  doubled = jax.jit(lambda b: b["actions"] * 2)(batch)
  np.testing.assert_allclose(doubled, 2 * np.asarray(batch.action))
