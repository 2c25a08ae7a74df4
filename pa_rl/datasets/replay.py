"""`ReplayBuffer`: a fixed-capacity ring of transitions in device arrays.

Functional like `OfflineDataset`: ``buffer = buffer.insert(transitions)`` and
``buffer, batch = buffer.sample(batch_size)``. Data is stored in the library's
normalized units (use `normalize_transition` on environment data). When full,
the oldest transitions are overwritten one for one: none is lost before its
turn and none is stored twice.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from pa_rl import types
from pa_rl.datasets import offline


@functools.partial(jax.jit, donate_argnums=(0,))
def _insert(storage: types.Transition, items: types.Transition,
            positions: jax.Array) -> types.Transition:
  return jax.tree.map(lambda s, x: s.at[positions].set(x.astype(s.dtype)), storage, items)


@functools.partial(jax.jit, static_argnames=("batch_size",))
def _sample(storage: types.Transition, key: jax.Array, size: jax.Array,
            batch_size: int) -> tuple[jax.Array, types.Transition]:
  key, sample_key = jax.random.split(key)
  rows = jax.random.randint(sample_key, (batch_size,), 0, size)
  return key, jax.tree.map(lambda x: x[rows], storage)


def normalize_transition(transition: types.Transition,
                         normalizer: types.Normalizer | None) -> types.Transition:
  """Maps a transition from environment units to the library's units."""
  if normalizer is None:
    return transition
  return transition._replace(
      observation=normalizer.normalize_observation(transition.observation),
      next_observation=normalizer.normalize_observation(transition.next_observation),
      action=normalizer.normalize_action(transition.action))


@dataclasses.dataclass(frozen=True)
class ReplayBuffer:
  """Online transitions for fine-tuning.

  Attributes:
    storage: a `types.Transition` whose leaves have a leading capacity axis.
    key: the PRNG key of the next `sample`.
    size: number of valid transitions (<= capacity).
    insert_index: the slot the next transition goes to.
    shape_meta: the data description (with the normalizer of the offline
      data, so online data is stored in the same units).
    total_inserted: transitions inserted since creation.
  """
  storage: types.Transition
  key: jax.Array
  size: int
  insert_index: int
  shape_meta: types.ShapeMeta
  total_inserted: int = 0

  @property
  def capacity(self) -> int:
    return int(self.storage.reward.shape[0])

  def __len__(self) -> int:
    return self.size

  @classmethod
  def create(cls, shape_meta: types.ShapeMeta | Mapping[str, Any], capacity: int,
             seed: int = 0) -> "ReplayBuffer":
    """An empty buffer for data described by ``shape_meta``."""
    shape_meta = types.as_shape_meta(shape_meta)
    if not isinstance(capacity, (int, np.integer)) or capacity < 1:
      raise ValueError(f"capacity must be a positive int; got {capacity!r}")
    obs = {k: jnp.asarray(v) for k, v in shape_meta.dummy_observation(capacity).items()}
    storage = types.Transition(
        observation=obs,
        action=jnp.zeros((capacity, *shape_meta.action_shape), jnp.float32),
        reward=jnp.zeros((capacity,), jnp.float32),
        discount=jnp.zeros((capacity,), jnp.float32),
        next_observation=jax.tree.map(jnp.copy, obs),
        mc_return=jnp.zeros((capacity,), jnp.float32))
    return cls(storage=storage, key=jax.random.PRNGKey(seed), size=0, insert_index=0,
               shape_meta=shape_meta)

  def insert(self, transitions: types.Transition) -> "ReplayBuffer":
    """Inserts a batch of transitions (leading axis n), in order.

    The returned buffer owns the storage; the old buffer must not be used
    again (its arrays are donated to avoid copying the whole ring).
    """
    transitions = types.Transition(*transitions)
    n = self._check(transitions)
    if n > self.capacity:  # Only the newest `capacity` can survive anyway.
      transitions = jax.tree.map(lambda x: x[n - self.capacity:], transitions)
      skipped, n = n - self.capacity, self.capacity
    else:
      skipped = 0
    start = (self.insert_index + skipped) % self.capacity
    positions = (start + np.arange(n)) % self.capacity
    storage = _insert(self.storage, transitions, jnp.asarray(positions, jnp.int32))
    return dataclasses.replace(
        self, storage=storage, size=min(self.size + n + skipped, self.capacity),
        insert_index=int((start + n) % self.capacity),
        total_inserted=self.total_inserted + n + skipped)

  def sample(self, batch_size: int) -> tuple["ReplayBuffer", types.Transition]:
    """Samples uniformly (with replacement) among the stored transitions."""
    if self.size == 0:
      raise ValueError("cannot sample from an empty ReplayBuffer; insert transitions first")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
      raise ValueError(f"batch_size must be a positive int; got {batch_size!r}")
    key, batch = _sample(self.storage, self.key, jnp.int32(self.size), int(batch_size))
    return dataclasses.replace(self, key=key), batch

  def _check(self, transitions: types.Transition) -> int:
    action = jnp.asarray(transitions.action)
    shape = self.shape_meta.action_shape
    if action.ndim != len(shape) + 1 or tuple(action.shape[1:]) != shape:
      raise ValueError(f"transition actions have shape {tuple(action.shape)}; expected "
                       f"[n, {', '.join(map(str, shape))}]")
    n = action.shape[0]
    expected = set(self.storage.observation)
    for name in ("observation", "next_observation"):
      obs = getattr(transitions, name)
      if not isinstance(obs, Mapping) or set(obs) != expected:
        got = sorted(obs) if isinstance(obs, Mapping) else type(obs).__name__
        raise ValueError(f"transition {name} keys {got} do not match {sorted(expected)}")
      for key, value in obs.items():
        want = (n, *self.storage.observation[key].shape[1:])
        if tuple(np.shape(value)) != want:
          raise ValueError(f"transition {name}[{key!r}] has shape {np.shape(value)}; "
                           f"expected {want}")
    for name in ("reward", "discount", "mc_return"):
      if tuple(np.shape(getattr(transitions, name))) != (n,):
        raise ValueError(f"transition {name} has shape {np.shape(getattr(transitions, name))}; "
                         f"expected ({n},)")
    return n


def sample_mixed(dataset: offline.OfflineDataset, buffer: ReplayBuffer, batch_size: int,
                 online_fraction: float = 0.5
                 ) -> tuple[offline.OfflineDataset, ReplayBuffer, types.Transition]:
  """A batch of offline and online transitions at a given ratio.

  Args:
    dataset: the offline data.
    buffer: the online data; while empty, the whole batch is offline.
    batch_size: total batch size.
    online_fraction: share of the batch drawn from ``buffer`` (reference
      PA-RL / Cal-QL fine-tuning: 0.5).
  """
  if not 0.0 <= online_fraction <= 1.0:
    raise ValueError(f"online_fraction must be in [0, 1]; got {online_fraction}")
  num_online = int(round(batch_size * online_fraction)) if buffer.size else 0
  num_offline = batch_size - num_online
  parts = []
  if num_offline:
    dataset, offline_batch = dataset.sample(num_offline)
    parts.append(offline_batch)
  if num_online:
    buffer, online_batch = buffer.sample(num_online)
    parts.append(online_batch)
  batch = parts[0] if len(parts) == 1 else jax.tree.map(
      lambda *xs: jnp.concatenate(xs, axis=0), *parts)
  return dataset, buffer, batch
