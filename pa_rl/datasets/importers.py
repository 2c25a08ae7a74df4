"""Dict-of-arrays datasets (OGBench, D4RL; ``.npz`` or ``.hdf5``) -> RLDS.

Two layouts are read, both one row per step, episodes back to back:

* **OGBench** (``observations``, ``actions``, ``terminals``; optional
  ``next_observations``, ``rewards``, ``masks``, ``qpos``, ``qvel``,
  ``button_states``). ``terminals`` marks the **last row of each episode**,
  not a terminal state. Without ``next_observations`` (OGBench's files) that
  last row holds the final observation and its action is not a transition
  (``ogbench.utils.load_dataset`` drops it too); with them (the dicts
  OGBench's loader returns) every row is a transition. ``masks`` = 0 marks a
  terminal state *inside* an episode (a single-task goal: the data goes on).
* **D4RL** (``observations``, ``actions``, ``rewards``, ``terminals``,
  ``timeouts``; optional ``next_observations``): ``terminals`` is a true
  termination, ``timeouts`` a time-limit cut; either ends the episode. A
  terminal row without ``next_observations`` keeps its transition with
  discount 0 and repeats its observation as the (never bootstrapped) final
  one; a timeout row without them holds only the final observation.

A terminal state inside an episode becomes **discount 0** on that step, not
``is_terminal`` (RLDS allows that flag on an episode's last step only). The
library's n-step targets and Monte-Carlo returns stop at it: nothing after a
discount-0 step reaches the targets of the steps before it
(`transitions.episode_indices`). A file without rewards gets reward 0.

OGBench single-task data (``--env=scene-play-singletask-task2-v0``, or an
environment id such as ``scene-singletask-task2-v0``) is relabelled with
OGBench's own ``ogbench.relabel_utils.relabel_dataset``, exactly as
``ogbench.make_env_and_datasets`` does, from the file's ``qpos`` (and
``button_states``).
"""

from __future__ import annotations

import logging
import os
from typing import Any, Mapping

import numpy as np
import rlds

from pa_rl import progress
from pa_rl import types
from pa_rl.datasets import rlds_io
from pa_rl.environments import ogbench_names

DatasetError = rlds_io.DatasetError
LAYOUTS = ("auto", "ogbench", "d4rl")
_INFO_KEYS = ("qpos", "qvel", "button_states")


def read_arrays(path: str) -> dict[str, np.ndarray]:
  """Reads a ``.npz`` or ``.hdf5``/``.h5`` file into a dict of arrays.

  HDF5 groups are flattened with ``/`` (D4RL's ``infos/qpos``).

  Raises:
    DatasetError: the file is missing, not of either kind, or unreadable.
  """
  path = os.fspath(path)
  if not os.path.exists(path):
    raise DatasetError(f"input file {path!r} does not exist")
  ext = os.path.splitext(path)[1].lower()
  if ext in (".npz", ".hdf5", ".h5"):
    _check_magic(path, ext)
  try:
    if ext == ".npz":
      with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}
    if ext in (".hdf5", ".h5"):
      import h5py  # pylint: disable=g-import-not-at-top
      out = {}
      with h5py.File(path, "r") as f:
        def visit(name, item):
          if isinstance(item, h5py.Dataset):
            out[name] = item[()]
        f.visititems(visit)
      return out
  except DatasetError:
    raise
  except Exception as e:  # zip, pickle-refusal and HDF5 errors have many types.
    raise DatasetError(f"{path!r} could not be read as {ext[1:]}: {type(e).__name__}: "
                       f"{e}") from e
  raise DatasetError(f"input file {path!r} must end in .npz, .hdf5 or .h5; got {ext!r}")


_NPZ_MAGIC = b"PK"  # A .npz is a zip archive.
_NPY_MAGIC = b"\x93NUMPY"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def _check_magic(path: str, ext: str) -> None:
  """Refuses a file whose first bytes are not those of its extension's format
  (numpy and h5py would otherwise blame pickled data or a truncated file)."""
  try:
    with open(path, "rb") as f:
      head = f.read(16)
      if ext == ".npz":
        if head.startswith(_NPZ_MAGIC):
          return
      else:
        # HDF5 allows a user block before the signature: it is at 0, 512, 1024, ...
        size, offset = os.path.getsize(path), 0
        while offset + len(_HDF5_MAGIC) <= size:
          f.seek(offset)
          if f.read(len(_HDF5_MAGIC)) == _HDF5_MAGIC:
            return
          offset = 512 if offset == 0 else 2 * offset
  except OSError as e:
    raise DatasetError(f"input file {path!r} could not be read: {e}") from e
  start = f"this file starts with {head!r}" if head else "this file is empty"
  if ext != ".npz":
    raise DatasetError(f"{path!r} is not an HDF5 file (an HDF5 file starts with "
                       f"{_HDF5_MAGIC!r}; {start})")
  hint = ""
  if head.startswith(_NPY_MAGIC):
    hint = ": it is a .npy file of one array; save a dict of arrays with np.savez"
  raise DatasetError(f"{path!r} is not a .npz file (a .npz is a zip archive; {start}){hint}")


def detect_layout(arrays: Mapping[str, np.ndarray]) -> str:
  """``d4rl`` when the file has ``timeouts``, else ``ogbench``."""
  return "d4rl" if "timeouts" in arrays else "ogbench"


def _require(arrays, key, layout):
  if key not in arrays:
    raise DatasetError(f"the {layout} layout needs the key {key!r}; the file has "
                       f"{sorted(arrays)}")
  return np.asarray(arrays[key])


def _per_row(key: str, value: np.ndarray, num_rows: int) -> np.ndarray:
  """``value`` as one number per row: shape (N,) or (N, 1)."""
  if value.shape not in ((num_rows,), (num_rows, 1)):
    raise DatasetError(f"{key!r} has shape {value.shape}; expected ({num_rows},) or "
                       f"({num_rows}, 1)")
  return value.reshape(num_rows)


def _flags(key: str, value: np.ndarray, num_rows: int) -> np.ndarray:
  """``terminals`` / ``timeouts`` as bools: bool, or ints / floats that are
  exactly 0 or 1 (anything else is not a flag, and casting it would call a
  NaN or a 7.5 an episode end)."""
  value = _per_row(key, value, num_rows)
  if value.dtype == bool:
    return value
  if not (np.issubdtype(value.dtype, np.integer) or np.issubdtype(value.dtype, np.floating)):
    raise DatasetError(f"{key!r} must hold booleans or 0/1; got dtype {value.dtype}")
  bad = np.flatnonzero((value != 0) & (value != 1))  # NaN is neither.
  if bad.size:
    row = int(bad[0])
    raise DatasetError(f"{key!r} must hold only 0/1 (or booleans); row {row} holds "
                       f"{value[row].item()!r} ({bad.size} bad rows)")
  return value.astype(bool)


def _rows(arrays: Mapping[str, np.ndarray], layout: str) -> dict[str, Any]:
  """Checks the keys, lengths, shapes and values of a file; returns its
  per-row arrays (per-row scalars as shape (N,), ``terminals`` and
  ``timeouts`` as bools)."""
  observations = _require(arrays, "observations", layout)
  actions = _require(arrays, "actions", layout)
  terminals = _require(arrays, "terminals", layout)
  if observations.ndim == 0:
    raise DatasetError("'observations' must have one row per step; got a scalar")
  num_rows = len(observations)
  if num_rows < 2:
    raise DatasetError(f"'observations' has {num_rows} rows; a dataset needs at least 2")
  if observations.ndim == 1:
    observations = observations[:, None]
  if actions.ndim == 1:
    actions = actions[:, None]
  out = {"observations": observations, "actions": actions}
  optional = ["next_observations", "rewards", "masks", "timeouts", *_INFO_KEYS]
  for key, value in [("actions", actions), ("terminals", terminals)] + [
      (k, np.asarray(arrays[k])) for k in optional if k in arrays]:
    if value.ndim == 0 or len(value) != num_rows:
      rows = "a scalar" if value.ndim == 0 else f"{len(value)} rows"
      raise DatasetError(f"{key!r} has {rows} but 'observations' has {num_rows}")
  for key in ("observations", "actions", "next_observations", "rewards", "masks"):
    value = out.get(key, arrays.get(key))
    if value is None:
      continue
    value = np.asarray(value)
    if np.issubdtype(value.dtype, np.floating) and not np.all(np.isfinite(value)):
      bad = int(np.flatnonzero(~np.all(np.isfinite(value.reshape(num_rows, -1)), axis=-1))[0])
      raise DatasetError(f"{key!r} holds NaN or Inf (first at row {bad})")
  if actions.ndim != 2:
    raise DatasetError(f"'actions' must be [rows, action_dim]; got shape {actions.shape}")
  if actions.shape[1] < 1:
    raise DatasetError(f"'actions' has shape {actions.shape}: no action dimensions; a "
                       "dataset needs at least one")
  if 0 in observations.shape[1:]:
    raise DatasetError(f"'observations' has shape {observations.shape}: no values per row")
  if "next_observations" in arrays:
    nxt = np.asarray(arrays["next_observations"])
    nxt = nxt[:, None] if nxt.ndim == 1 else nxt
    if nxt.shape != observations.shape:
      raise DatasetError(f"'next_observations' has shape {nxt.shape} but 'observations' "
                         f"{observations.shape}")
    out["next_observations"] = nxt
  ends = _flags("terminals", terminals, num_rows)
  out["terminals"] = ends
  if layout == "d4rl":
    out["timeouts"] = _flags("timeouts", _require(arrays, "timeouts", layout), num_rows)
    ends = ends | out["timeouts"]
  out["ends"] = ends
  for key in ("rewards", "masks"):
    if key in arrays:
      out[key] = _per_row(key, np.asarray(arrays[key]), num_rows)
  for key in _INFO_KEYS:
    if key in arrays:
      out[key] = np.asarray(arrays[key])
  return out


def relabel_singletask(env_id: str, arrays: Mapping[str, np.ndarray]
                       ) -> tuple[np.ndarray, np.ndarray]:
  """Per-row rewards and masks of an OGBench single-task environment.

  Calls OGBench's own ``relabel_dataset`` (rewards and masks from the
  ``qpos`` / ``button_states`` of each row), as ``make_env_and_datasets``
  does for a ``*-singletask-*`` name.

  Raises:
    DatasetError: the file lacks the keys the task's success test reads.
  """
  import gymnasium as gym  # pylint: disable=g-import-not-at-top
  from ogbench import relabel_utils  # pylint: disable=g-import-not-at-top
  needed = ["qpos"] + (["button_states"] if env_id.split("-")[0] in ("scene", "puzzle")
                       else [])
  missing = [k for k in needed if k not in arrays]
  if missing:
    raise DatasetError(f"relabelling for {env_id!r} needs the key(s) {missing} (OGBench "
                       f"writes them with its data); the file has {sorted(arrays)}")
  env = gym.make(env_id)
  try:
    rows = {k: np.asarray(arrays[k]) for k in needed}
    relabel_utils.relabel_dataset(env_id, env, rows)
  finally:
    env.close()
  return rows["rewards"].astype(np.float32), rows["masks"].astype(np.float32)


def _singletask_env(env: str | None) -> str | None:
  """The OGBench single-task environment id ``env`` names, if it names one."""
  if not env:
    return None
  dataset = ogbench_names.resolve_dataset_name(env)
  env_id = dataset.env_id if dataset is not None else env
  if ogbench_names.singletask_env_id(env_id) and ogbench_names.is_ogbench_id(env_id):
    return env_id
  return None


def episodes_from_arrays(arrays: Mapping[str, np.ndarray], layout: str = "auto",
                         singletask_env: str | None = None) -> tuple[list[dict], dict]:
  """Cuts a dict-of-arrays dataset into RLDS episodes.

  Args:
    arrays: the file's arrays (`read_arrays`).
    layout: ``ogbench``, ``d4rl`` or ``auto`` (`detect_layout`).
    singletask_env: an OGBench single-task environment id to relabel the
      rewards and masks for, or None to use the file's.

  Returns:
    (episodes, info): each episode is ``{"steps": {...}, "success": bool}``
    with the RLDS step fields; info says what was read (layout, rows,
    episodes, skipped one-row episodes, where rewards came from).

  Raises:
    DatasetError: a missing key, rows of unequal length, a per-row value of
      another shape, no action dimension, NaN/Inf, or ``terminals`` /
      ``timeouts`` that are not 0/1.
  """
  if layout not in LAYOUTS:
    raise DatasetError(f"layout={layout!r} is unknown; choose one of: {', '.join(LAYOUTS)}")
  layout = detect_layout(arrays) if layout == "auto" else layout
  rows = _rows(arrays, layout)
  num_rows = len(rows["observations"])
  if singletask_env:
    rewards, masks = relabel_singletask(singletask_env, arrays)
    reward_source = f"relabelled for {singletask_env}"
  else:
    rewards = rows.get("rewards")
    reward_source = "file" if rewards is not None else "none (reward 0)"
    rewards = (np.zeros(num_rows, np.float32) if rewards is None
               else rewards.astype(np.float32))
    masks = rows.get("masks")
    if masks is not None:
      masks = masks.astype(np.float32)
    elif layout == "d4rl":
      masks = 1.0 - rows["terminals"].astype(np.float32)
    else:
      masks = np.ones(num_rows, np.float32)
  observations, actions = rows["observations"], rows["actions"].astype(np.float32)
  next_obs = rows.get("next_observations")
  ends = rows["ends"].copy()
  ends[-1] = True  # The file's end ends its last episode (D4RL leaves it unmarked).
  true_terminal = rows["terminals"] if layout == "d4rl" else np.zeros(num_rows, bool)
  end_rows = np.flatnonzero(ends)
  starts = np.concatenate([[0], end_rows[:-1] + 1])
  episodes, skipped = [], 0
  for start, end in zip(starts, end_rows):
    if next_obs is not None or true_terminal[end]:
      # Every row is a transition; the final observation follows the last.
      last = next_obs[end] if next_obs is not None else observations[end]
      obs = np.concatenate([observations[start:end + 1], last[None]])
      stop = end + 1
    else:
      # The last row holds only the final observation.
      obs = observations[start:end + 1]
      stop = end
    num_transitions = stop - start
    if num_transitions < 1:
      skipped += 1
      continue
    pad = lambda x: np.concatenate([x, np.zeros((1, *x.shape[1:]), x.dtype)])
    discounts = masks[start:stop]
    if true_terminal[end]:
      discounts = discounts.copy()
      discounts[-1] = 0.0
    num_steps = num_transitions + 1
    steps = {
        rlds.OBSERVATION: _observation_dict(obs),
        rlds.ACTION: pad(actions[start:stop]),
        rlds.REWARD: pad(rewards[start:stop]),
        rlds.DISCOUNT: pad(discounts),
        rlds.IS_FIRST: np.arange(num_steps) == 0,
        rlds.IS_LAST: np.arange(num_steps) == num_steps - 1,
        rlds.IS_TERMINAL: (np.arange(num_steps) == num_steps - 1) & bool(true_terminal[end]),
    }
    success = bool(singletask_env) and bool(np.any(masks[start:end + 1] == 0))
    episodes.append({rlds.STEPS: steps, "success": success})
  if not episodes:
    raise DatasetError("the file holds no episode with a transition")
  info = {"layout": layout, "rows": num_rows, "episodes": len(episodes),
          "skipped_episodes": skipped, "reward_source": reward_source,
          "transitions": int(sum(len(e[rlds.STEPS][rlds.REWARD]) - 1 for e in episodes))}
  return episodes, info


def _observation_dict(obs: np.ndarray) -> dict[str, np.ndarray]:
  """Images (uint8 ``[T, H, W, C]``) go under ``image``, vectors under ``state``."""
  if obs.dtype == np.uint8 and obs.ndim == 4:
    return {"image": obs}
  return {"state": obs.reshape(len(obs), -1).astype(np.float32)}


def _observation_spec(observation: Mapping[str, np.ndarray]) -> dict[str, types.ObsSpec]:
  return {k: types.ObsSpec(tuple(v.shape[1:]), types.RGB if k == "image" else types.LOW_DIM)
          for k, v in observation.items()}


def _environment_specs(env: str) -> tuple[np.ndarray, np.ndarray, dict[str, types.ObsSpec]]:
  """The action bounds (low, high) and observation spec of environment ``env``."""
  from pa_rl import environments  # pylint: disable=g-import-not-at-top
  from pa_rl.datasets import collection  # pylint: disable=g-import-not-at-top
  made = environments.make_environment(env, seed=0)
  try:
    spec = made.action_spec()
    low = np.broadcast_to(spec.minimum, spec.shape).astype(np.float32).ravel()
    high = np.broadcast_to(spec.maximum, spec.shape).astype(np.float32).ravel()
    observations = collection.observation_specs(made)
  finally:
    made.close()
  return low, high, observations


def _data_action_bounds(actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Without an environment: [-1, 1] when the data fits in it (OGBench's and
  D4RL's tasks), else the data's own range."""
  if np.all(np.abs(actions) <= 1.0):
    return -np.ones(actions.shape[-1], np.float32), np.ones(actions.shape[-1], np.float32)
  return actions.min(axis=0), actions.max(axis=0)


def _check_observations(env: str, observation: Mapping[str, types.ObsSpec],
                        env_spec: Mapping[str, types.ObsSpec]) -> None:
  """The file's observations must be what ``env`` observes: an image of the
  environment's image shape, or a vector of as many values as the
  environment's vector observations hold together (the importer flattens a
  row into ``state``)."""
  described = ", ".join(f"{k!r}: {tuple(v.shape)}" for k, v in env_spec.items())
  if "image" in observation:
    shape = tuple(observation["image"].shape)
    images = [tuple(v.shape) for v in env_spec.values() if v.type == types.RGB]
    if shape in images:
      return
    raise DatasetError(f"the file's observations are images of shape {shape} per row but "
                       f"env={env!r} observes {{{described}}}; the data does not come from "
                       "this environment")
  shape = tuple(observation["state"].shape)
  vectors = [v for v in env_spec.values() if v.type != types.RGB]
  size = sum(int(np.prod(v.shape)) for v in vectors)
  if vectors and size == int(np.prod(shape)):
    return
  total = f" ({size} values in all)" if len(env_spec) > 1 else ""
  raise DatasetError(f"the file's observations have shape {shape} per row but env={env!r} "
                     f"observes {{{described}}}{total}; the data does not come from this "
                     "environment")


def _check_actions(env: str, actions: np.ndarray, low: np.ndarray, high: np.ndarray,
                   tolerance: float = 1e-3) -> None:
  """Refuses actions outside the environment's bounds by more than
  ``tolerance`` of each dimension's range (float rounding in files).

  The data are refused, not clipped: a dataset with actions the environment
  does not accept is not data of that environment, and clipping would
  silently change what the data says the behaviour policy did.
  """
  if low.size != actions.shape[-1]:
    raise DatasetError(f"env={env!r} has {low.size}-D actions but the file's 'actions' "
                       f"are {actions.shape[-1]}-D")
  width = (high - low).astype(np.float64)
  slack = np.where(np.isfinite(width), tolerance * width, 0.0)
  below = np.maximum(low - slack - actions, 0.0)
  above = np.maximum(actions - high - slack, 0.0)
  excess = np.maximum(below, above)
  if not np.any(excess > 0):
    return
  rows_out = np.any(excess > 0, axis=-1)
  dims = np.flatnonzero(np.any(excess > 0, axis=0)).tolist()
  # The worst dimension is the one furthest out relative to its range.
  scale = np.where(np.isfinite(width) & (width > 0), width, 1.0)
  row, dim = np.unravel_index(int(np.argmax(excess / scale)), excess.shape)
  raise DatasetError(
      f"'actions' leave env={env!r}'s bounds: dimension {int(dim)} reaches "
      f"{float(actions[row, dim]):g} (transition {int(row)}) but its bounds are "
      f"[{float(low[dim]):g}, {float(high[dim]):g}]; {int(rows_out.sum())} of "
      f"{len(actions)} transitions ({rows_out.mean():.1%}) have an action out of bounds "
      f"(dimension(s) {dims}). A dataset whose actions the environment does not accept is "
      "not data of that environment, and clipping them would change what the data says "
      "the behaviour policy did: check --env, or rescale the actions to the bounds")


def write_episodes(episodes: list[dict], output_dir: str, *, env: str | None = None,
                   env_id: str | None = None, overwrite: bool = False,
                   extra_metadata: Mapping[str, Any] | None = None,
                   sidecars: Mapping[str, Mapping[str, np.ndarray]] | None = None,
                   task_id: int = 0, policy: str = "imported",
                   protect: tuple[str, ...] = ()) -> str:
  """Writes `episodes_from_arrays` episodes as one RLDS dataset, atomically.

  Args:
    episodes: the episodes.
    output_dir: the dataset directory.
    env: the name to take action bounds from (any `make_environment` name);
      the observations must have its observation shape and the actions lie
      in its bounds.
    env_id: the environment name recorded for training and evaluation
      (default ``env``).
    overwrite: replace an existing dataset.
    extra_metadata: more entries for ``pa_rl_metadata.json``.
    sidecars: ``{relative path: arrays}`` written as ``.npz`` files inside
      the dataset directory (e.g. the OGBench-layout source).
    task_id, policy: stored with every episode.
    protect: paths a replaced dataset may not contain (the input file).
  """
  first = episodes[0][rlds.STEPS]
  spec = _observation_spec(first[rlds.OBSERVATION])
  actions = np.concatenate([e[rlds.STEPS][rlds.ACTION][:-1] for e in episodes])
  if env:
    low, high, env_spec = _environment_specs(env)
    _check_observations(env, spec, env_spec)
    _check_actions(env, actions, low, high)
  else:
    low, high = _data_action_bounds(actions)
  writer = rlds_io.RLDSWriter(output_dir, spec, actions.shape[-1], low, high,
                              env_name=env_id or env or "", overwrite=overwrite,
                              extra_metadata=extra_metadata, protect=protect)
  with writer:
    for episode in progress.progress(episodes, desc="write RLDS"):
      writer.add_episode(episode[rlds.STEPS], {"task_id": task_id, "policy": policy,
                                                "success": episode["success"]})
    for name, arrays in (sidecars or {}).items():
      writer.add_npz(name, arrays)
  return os.path.abspath(output_dir)


def convert(input_path: str, output_dir: str, *, env: str | None = None,
            layout: str = "auto", overwrite: bool = False) -> dict[str, Any]:
  """Converts a dict-of-arrays file into an RLDS dataset at ``output_dir``.

  Args:
    input_path: a ``.npz`` / ``.hdf5`` file in the OGBench or D4RL layout.
    output_dir: the dataset directory (written atomically).
    env: the environment the data belongs to: its action bounds and name go
      into the dataset. The file's observations must have its observation
      shape and its actions lie in its bounds (to 1e-3 of each range):
      actions it does not accept are refused, not clipped, since clipping
      would change what the data says the behaviour policy did. An OGBench
      single-task name (dataset ``scene-play-singletask-task2-v0`` or
      environment ``scene-singletask-task2-v0``) also relabels rewards and
      masks for that task.
    layout: ``auto``, ``ogbench`` or ``d4rl``.
    overwrite: replace a dataset this library wrote at ``output_dir``
      (anything else there, the input included, is never removed:
      `rlds_io.check_output_dir`).

  Returns:
    What was written: path, layout, rows, episodes, transitions, where the
    rewards came from, and the fraction of transitions with discount 0.

  Raises:
    DatasetError: the file is unreadable, malformed, or not data of ``env``;
      nothing is written then.
  """
  rlds_io.check_output_dir(output_dir, overwrite, protect=(input_path,))
  arrays = read_arrays(input_path)
  singletask = _singletask_env(env)
  episodes, info = episodes_from_arrays(arrays, layout, singletask)
  dataset = ogbench_names.resolve_dataset_name(env) if env else None
  env_id = dataset.env_id if dataset is not None else env
  meta = {"source": os.path.abspath(input_path), "layout": info["layout"],
          "reward_source": info["reward_source"]}
  path = write_episodes(episodes, output_dir, env=env_id, env_id=env_id,
                        overwrite=overwrite, extra_metadata=meta, protect=(input_path,))
  discounts = np.concatenate([e[rlds.STEPS][rlds.DISCOUNT][:-1] for e in episodes])
  info.update(path=path, terminal_fraction=float(np.mean(discounts == 0)),
              success_rate=(float(np.mean([e["success"] for e in episodes]))
                            if singletask else None))
  logging.info("converted %s: %s", input_path, info)
  return info
