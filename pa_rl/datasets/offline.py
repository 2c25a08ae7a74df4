"""`OfflineDataset`: RLDS data on the device, sampled by a jitted gather.

The dataset is an immutable value: ``dataset.sample(batch_size)`` returns a
new dataset (its PRNG key advanced) and a `types.Transition` batch, so the
sampling stream is reproducible from the seed and saved with the learner.
"""

from __future__ import annotations

import dataclasses
import functools
import numbers
import os
from typing import Any, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from pa_rl import types
from pa_rl.datasets import normalization
from pa_rl.datasets import rlds_io
from pa_rl.datasets import transitions as transitions_lib


@functools.partial(jax.jit, static_argnames=("batch_size", "replace"))
def _sample(data: Mapping[str, Any], key: jax.Array, batch_size: int,
            replace: bool) -> tuple[jax.Array, types.Transition]:
  key, sample_key = jax.random.split(key)
  num = data["obs_index"].shape[0]
  if replace:
    rows = jax.random.randint(sample_key, (batch_size,), 0, num)
  else:
    rows = jax.random.choice(sample_key, num, (batch_size,), replace=False)
  return key, gather(data, rows)


def gather(data: Mapping[str, Any], rows: jax.Array) -> types.Transition:
  """The transitions at ``rows`` of a device-side transition table."""
  obs_idx = data["obs_index"][rows]
  next_idx = data["next_index"][rows]
  chunk_idx = data["chunk_index"][rows]
  observations = data["observations"]
  action = data["actions"][chunk_idx]  # [B, H, A]
  if action.shape[1] == 1:
    action = action[:, 0]
  return types.Transition(
      observation={k: v[obs_idx] for k, v in observations.items()},
      action=action,
      reward=data["reward"][rows],
      discount=data["discount"][rows],
      next_observation={k: v[next_idx] for k, v in observations.items()},
      mc_return=data["mc_return"][rows])


def _check_load_arguments(*, normalize: Any, seed: Any, discount: Any, n_step: Any,
                          action_horizon: Any) -> None:
  """Raises a ValueError/TypeError naming the first bad loading argument."""
  if not isinstance(normalize, (bool, np.bool_)):
    raise TypeError(f"normalize must be a bool; got {normalize!r}")
  if (isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral)
      or not -2**63 <= seed < 2**63):
    raise TypeError(f"seed must be a 64-bit int; got {seed!r}")
  if (isinstance(discount, (bool, np.bool_)) or not isinstance(discount, numbers.Real)
      or not 0.0 <= discount <= 1.0):  # NaN fails too.
    raise ValueError(f"discount must be a number in [0, 1]; got {discount!r}")
  for name, value in (("n_step", n_step), ("action_horizon", action_horizon)):
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral)
        or value < 1):
      raise ValueError(f"{name} must be an int >= 1; got {value!r}")


@dataclasses.dataclass(frozen=True)
class OfflineDataset:
  """A fixed dataset of transitions held in device arrays.

  Attributes:
    data: the device-side transition table (see `transitions.TransitionTable`).
    shape_meta: what `create_policy_model` / `create_q_critic` need, with the
      normalization statistics used to store the data.
    key: the PRNG key the next `sample` call uses.
    metadata: the dataset's sidecar metadata (environment name, bounds...).
    discount: the gamma its n-step rewards and Monte-Carlo returns use.
    n_step: its TD backup length (online transitions mixed in should match).
  """
  data: Mapping[str, Any]
  shape_meta: types.ShapeMeta
  key: jax.Array
  metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  discount: float = 0.99
  n_step: int = 1

  @property
  def size(self) -> int:
    """Number of transitions."""
    return int(self.data["obs_index"].shape[0])

  def __len__(self) -> int:
    return self.size

  @property
  def normalizer(self) -> types.Normalizer | None:
    return self.shape_meta.normalizer

  def sample(self, batch_size: int, replace: bool = True
             ) -> tuple["OfflineDataset", types.Transition]:
    """Samples a batch uniformly over the transitions.

    Args:
      batch_size: number of transitions.
      replace: sample with replacement (the default and the fast path).

    Returns:
      (dataset with its key advanced, batch).
    """
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
      raise ValueError(f"batch_size must be a positive int; got {batch_size!r}")
    if not replace and batch_size > self.size:
      raise ValueError(
          f"batch_size={batch_size} is larger than the dataset ({self.size} "
          "transitions); sampling without replacement needs batch_size <= size")
    key, batch = _sample(self.data, self.key, int(batch_size), bool(replace))
    return dataclasses.replace(self, key=key), batch

  def iterate(self, batch_size: int):
    """Yields every transition once, in order, in batches (evaluation)."""
    for start in range(0, self.size, batch_size):
      rows = jnp.arange(start, min(start + batch_size, self.size))
      yield gather(self.data, rows)

  @classmethod
  def load_from_path(cls, path: str | os.PathLike, normalize: bool = True, seed: int = 0,
                     *, discount: float = 0.99, n_step: int = 1,
                     action_horizon: int = 1) -> "OfflineDataset":
    """Loads an RLDS dataset directory (as written by `pa_rl.binaries.collect`).

    Args:
      path: the dataset directory.
      normalize: standardize low-dim observations and map actions to
        [-1, 1]; the statistics travel in ``shape_meta.normalizer``.
      seed: seeds the sampling stream.
      discount: gamma for n-step rewards and Monte-Carlo returns.
      n_step: TD backup length; with action chunks, usually = action_horizon.
      action_horizon: actions per chunk (1 for single actions).
    """
    return cls.load_from_paths([path], normalize=normalize, seed=seed, discount=discount,
                               n_step=n_step, action_horizon=action_horizon,
                               task_ids=None)

  @classmethod
  def load_from_paths(cls, paths: Sequence[str | os.PathLike], normalize: bool = True,
                      seed: int = 0, *, discount: float = 0.99, n_step: int = 1,
                      action_horizon: int = 1,
                      task_ids: Sequence[int] | None | str = "auto") -> "OfflineDataset":
    """Loads and joins several RLDS datasets, one task each.

    Args:
      paths: dataset directories.
      task_ids: one task id per path; ``"auto"`` numbers the paths 0, 1, ...
        when there are several and uses the episodes' own ``task_id``
        metadata never; None for no task ids at all.
      The other arguments are as in `load_from_path`.
    """
    _check_load_arguments(normalize=normalize, seed=seed, discount=discount, n_step=n_step,
                          action_horizon=action_horizon)
    if isinstance(paths, (str, os.PathLike)):
      raise TypeError("paths must be a list of dataset directories")
    if not paths:
      raise ValueError("paths is empty")
    if task_ids == "auto":
      task_ids = list(range(len(paths))) if len(paths) > 1 else None
    if task_ids is not None and len(task_ids) != len(paths):
      raise ValueError(f"{len(task_ids)} task_ids for {len(paths)} paths")
    tables, metas = [], []
    for i, path in enumerate(paths):
      episodes, meta = rlds_io.load_episodes(os.fspath(path))
      ids = None if task_ids is None else [int(task_ids[i])] * len(episodes)
      tables.append(transitions_lib.build_table(
          episodes, gamma=discount, n_step=n_step, horizon=action_horizon, task_ids=ids))
      metas.append(meta)
    num_tasks = 0 if task_ids is None else int(max(task_ids)) + 1
    return cls.from_table(transitions_lib.concatenate_tables(tables), normalize=normalize,
                          seed=seed, action_horizon=action_horizon, num_tasks=num_tasks,
                          metadata=metas[0] if len(metas) == 1 else {"datasets": metas},
                          discount=discount, n_step=n_step)

  @classmethod
  def from_episodes(cls, episodes: Sequence[Mapping[str, Any]], normalize: bool = True,
                    seed: int = 0, *, discount: float = 0.99, n_step: int = 1,
                    action_horizon: int = 1, action_low=None, action_high=None,
                    task_ids: Sequence[int] | None = None) -> "OfflineDataset":
    """Builds a dataset from in-memory RLDS-style episodes (tests, online data)."""
    _check_load_arguments(normalize=normalize, seed=seed, discount=discount, n_step=n_step,
                          action_horizon=action_horizon)
    table = transitions_lib.build_table(episodes, gamma=discount, n_step=n_step,
                                        horizon=action_horizon, task_ids=task_ids)
    meta = {}
    if action_low is not None:
      meta = {"action_low": np.asarray(action_low).tolist(),
              "action_high": np.asarray(action_high).tolist()}
    num_tasks = 0 if task_ids is None else int(max(task_ids)) + 1
    return cls.from_table(table, normalize=normalize, seed=seed,
                          action_horizon=action_horizon, num_tasks=num_tasks, metadata=meta,
                          discount=discount, n_step=n_step)

  @classmethod
  def from_table(cls, table: transitions_lib.TransitionTable, *, normalize: bool, seed: int,
                 action_horizon: int, num_tasks: int,
                 metadata: Mapping[str, Any], discount: float,
                 n_step: int) -> "OfflineDataset":
    observations = dict(table.observations)
    specs = {}
    for key, value in observations.items():
      if key == types.TASK_ID_KEY:
        continue
      is_image = value.dtype == np.uint8 and value.ndim == 4
      specs[key] = types.ObsSpec(value.shape[1:], types.RGB if is_image else types.LOW_DIM)
    normalizer = None
    actions = table.actions
    if normalize:
      normalizer = normalization.compute_normalizer(
          observations, specs, actions, table.obs_index,
          action_low=metadata.get("action_low"), action_high=metadata.get("action_high"))
      observations = {k: np.asarray(v) for k, v in
                      normalizer.normalize_observation(observations).items()}
      actions = np.asarray(normalizer.normalize_action(actions))
    for key, value in observations.items():
      if key != types.TASK_ID_KEY and specs[key].type == types.LOW_DIM:
        observations[key] = value.astype(np.float32)
    shape_meta = types.ShapeMeta(
        observations=specs, action_dim=actions.shape[-1], action_horizon=action_horizon,
        num_tasks=num_tasks, normalizer=normalizer)
    data = {
        "observations": {k: jnp.asarray(v) for k, v in observations.items()},
        "actions": jnp.asarray(actions, jnp.float32),
        "obs_index": jnp.asarray(table.obs_index, jnp.int32),
        "next_index": jnp.asarray(table.next_index, jnp.int32),
        "chunk_index": jnp.asarray(table.chunk_index, jnp.int32),
        "reward": jnp.asarray(table.reward, jnp.float32),
        "discount": jnp.asarray(table.discount, jnp.float32),
        "mc_return": jnp.asarray(table.mc_return, jnp.float32),
    }
    return cls(data=data, shape_meta=shape_meta, key=jax.random.PRNGKey(seed),
               metadata=dict(metadata), discount=float(discount), n_step=int(n_step))
