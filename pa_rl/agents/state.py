"""The learner state every agent shares, and its checkpoints.

Checkpoints are ``.npz`` files of the state's leaves (no pickle: loading a
user-supplied path cannot execute code), restored into a template state of
the same structure. They are written to a temporary file, fsynced and renamed
into place, so a crash never leaves a half-written checkpoint under the final
name.
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from pa_rl import file_utils


class TrainingState(NamedTuple):
  """Everything an update needs; a pytree, so it can be jitted and saved.

  Fields an agent does not use are None (e.g. the critic of imitation).
  """
  policy_params: Any
  policy_opt_state: Any
  ema_params: Any
  critic_params: Any
  critic_target_params: Any
  critic_opt_state: Any
  key: jax.Array
  step: jax.Array


def polyak(target: Any, online: Any, tau: float) -> Any:
  """``target <- (1 - tau) * target + tau * online``."""
  return jax.tree.map(lambda t, o: (1.0 - tau) * t + tau * o, target, online)


def save_checkpoint(path: str, tree: Any, metadata: dict[str, Any] | None = None) -> None:
  """Writes the leaves of ``tree`` to ``path`` (.npz) atomically."""
  leaves = jax.tree.leaves(jax.device_get(tree))
  arrays = {f"leaf_{i:05d}": np.asarray(leaf) for i, leaf in enumerate(leaves)}
  for key, value in (metadata or {}).items():
    arrays[f"meta_{key}"] = np.asarray(value)
  file_utils.write_atomic(path, lambda f: np.savez(f, **arrays), binary=True)


class CheckpointError(ValueError):
  """A checkpoint is missing, truncated, corrupted or of another structure."""


def load_checkpoint(path: str, template: Any) -> tuple[Any, dict[str, np.ndarray]]:
  """Restores a tree saved by `save_checkpoint` into ``template``'s structure.

  Raises:
    CheckpointError: the file is missing or unreadable, or its leaves do not
      match the template (count, shapes or dtypes).
  """
  if not os.path.exists(path):
    raise CheckpointError(f"checkpoint {path} does not exist")
  try:
    with np.load(path, allow_pickle=False) as data:
      arrays = {k: data[k] for k in data.files}
  except Exception as e:  # zipfile / numpy errors on truncated files.
    raise CheckpointError(f"checkpoint {path} is unreadable ({type(e).__name__}: {e})") from e
  leaves, treedef = jax.tree.flatten(template)
  saved = [arrays[k] for k in sorted(arrays) if k.startswith("leaf_")]
  if len(saved) != len(leaves):
    raise CheckpointError(f"checkpoint {path} has {len(saved)} arrays; the agent expects "
                          f"{len(leaves)} (was it written by another agent or network size?)")
  restored = []
  for i, (want, got) in enumerate(zip(leaves, saved)):
    want_shape = np.shape(want)
    want_dtype = jnp.asarray(want).dtype if not hasattr(want, "dtype") else want.dtype
    if tuple(got.shape) != tuple(want_shape) or got.dtype != np.dtype(want_dtype):
      raise CheckpointError(
          f"checkpoint {path} array {i} has shape {got.shape} {got.dtype}; expected "
          f"{tuple(want_shape)} {np.dtype(want_dtype)}")
    restored.append(jnp.asarray(got))
  meta = {k[len("meta_"):]: v for k, v in arrays.items() if k.startswith("meta_")}
  return jax.tree.unflatten(treedef, restored), meta
