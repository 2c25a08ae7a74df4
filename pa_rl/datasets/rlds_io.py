"""RLDS datasets on disk: an atomic episode writer and a loader.

A dataset written here is a TFDS folder that
``tfds.builder_from_directory(path).as_dataset(split="train")`` loads: each
example is an episode with the standard RLDS step fields (observation,
action, reward, discount, is_first, is_last, is_terminal) and episode
metadata. Step ``t`` holds ``o_t``, the action ``a_t`` taken there, and the
reward and discount that followed it; the last step holds the final
observation with zero action and reward (RLDS convention).

Beside the TFDS files, ``pa_rl_metadata.json`` records the environment's
action bounds and name, so normalization can use the true action range.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from typing import Any, Mapping, Sequence

import numpy as np
import rlds

from pa_rl import file_utils
from pa_rl import types

# Importing TensorFlow costs seconds; only the functions that need it do.
_METADATA_FILE = "pa_rl_metadata.json"
_DATASET_NAME = "pa_rl_episodes"
_FILENAME_TEMPLATE = "{DATASET}-{SPLIT}.{FILEFORMAT}-{SHARD_INDEX}-of-{NUM_SHARDS}"
STEP_FIELDS = (rlds.OBSERVATION, rlds.ACTION, rlds.REWARD, rlds.DISCOUNT,
               rlds.IS_FIRST, rlds.IS_LAST, rlds.IS_TERMINAL)


# An interrupted overwrite's old copy: ".<name>.old-<8 hex digits>".
_OLD_COPY = re.compile(r"^\..+\.old-[0-9a-f]{8}$")
# What the writer puts at the top of a dataset directory besides what its
# metadata lists (datasets written before the list was kept).
_DATASET_FILES = re.compile(
    r"^(dataset_info\.json|features\.json|pa_rl_metadata\.json|"
    rf"{_DATASET_NAME}-\w+\.tfrecord-\d+-of-\d+)$")


class DatasetError(ValueError):
  """A dataset on disk is missing, malformed or holds bad values."""


def check_output_dir(output_dir: str, overwrite: bool, protect: Sequence[str] = ()) -> str:
  """Where a new dataset may go; returns its absolute path.

  A path that does not exist may be written. An existing one may be replaced
  only with ``overwrite``, and only if it is a dataset this library wrote
  (recognised by its metadata) holding nothing but what the writer put there
  and none of the ``protect`` paths: ``--overwrite`` never removes anything
  else.

  Raises:
    FileExistsError: the path exists and may not be replaced; the message
      names what is in the way.
    NotADirectoryError: a parent of the path is a file.
  """
  path = os.path.abspath(os.path.expanduser(output_dir))
  file_utils.check_no_file_in_the_way(path, "output_dir", parents_only=True)
  if not os.path.lexists(path):
    return path
  if not overwrite:
    raise FileExistsError(f"output_dir {path} already exists; choose a new path or pass "
                          "overwrite=True (--overwrite) to replace the dataset there")
  refuse = f"refusing to overwrite output_dir {path}:"
  if os.path.islink(path) or not os.path.isdir(path):
    raise FileExistsError(f"{refuse} it is not a directory; --overwrite only replaces a "
                          "dataset this library wrote")
  inside = [p for p in protect
            if os.path.commonpath([path, os.path.abspath(p)]) == path]
  if inside:
    raise FileExistsError(f"{refuse} it holds {', '.join(inside)}, which this run reads; "
                          "write the dataset somewhere else")
  meta_path = os.path.join(path, _METADATA_FILE)
  if not all(os.path.isfile(os.path.join(path, f))
             for f in (_METADATA_FILE, "dataset_info.json", "features.json")):
    found = sorted(os.listdir(path))
    raise FileExistsError(
        f"{refuse} it is not a dataset written by this library (no {_METADATA_FILE}, "
        "dataset_info.json and features.json; it holds "
        f"{', '.join(found[:8]) + (' ...' if len(found) > 8 else '') or 'nothing'}); "
        "--overwrite only replaces such a dataset: remove the folder yourself or choose "
        "another path")
  try:
    listed = _read_json_object(meta_path).get("files")
  except DatasetError:
    listed = None
  listed = set(listed) if isinstance(listed, list) else None
  foreign = []
  for root, dirs, files in os.walk(path):
    for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
      rel = os.path.relpath(os.path.join(root, name), path)
      ours = (rel in listed if listed is not None else
              bool(_DATASET_FILES.match(rel)) or (rel.startswith("ogbench" + os.sep)
                                                  and rel.endswith(".npz")))
      if not ours:
        foreign.append(rel)
    for name in dirs:
      if not os.listdir(os.path.join(root, name)):
        foreign.append(os.path.relpath(os.path.join(root, name), path) + os.sep)
  if foreign:
    raise FileExistsError(
        f"{refuse} it holds {', '.join(sorted(foreign)[:8])}"
        f"{' ...' if len(foreign) > 8 else ''}, which this library did not write; move "
        "them away first")
  return path


def _features(observation_spec: Mapping[str, types.ObsSpec], action_dim: int):
  """The TFDS features of an episode.

  Raises:
    DatasetError: no action dimension, or an observation with a zero-size
      dimension (TFDS would crash the interpreter writing their metadata).
  """
  import tensorflow as tf
  import tensorflow_datasets as tfds
  if action_dim < 1:
    raise DatasetError(f"action_dim must be >= 1; got {action_dim} (a dataset needs at least "
                       "one action dimension)")
  empty = {k: tuple(v.shape) for k, v in observation_spec.items() if 0 in tuple(v.shape)}
  if empty:
    raise DatasetError(f"observation spec {empty} has a zero-size dimension; every "
                       "observation key needs at least one value per step")
  obs = {}
  for key, spec in observation_spec.items():
    dtype = np.uint8 if spec.type == types.RGB else np.float32
    obs[key] = tfds.features.Tensor(shape=spec.shape, dtype=dtype)
  return tfds.features.FeaturesDict({
      rlds.STEPS: tfds.features.Dataset({
          rlds.OBSERVATION: tfds.features.FeaturesDict(obs),
          rlds.ACTION: tfds.features.Tensor(shape=(action_dim,), dtype=np.float32),
          rlds.REWARD: tfds.features.Scalar(dtype=np.float32),
          rlds.DISCOUNT: tfds.features.Scalar(dtype=np.float32),
          rlds.IS_FIRST: tf.bool,
          rlds.IS_LAST: tf.bool,
          rlds.IS_TERMINAL: tf.bool,
      }),
      "episode_metadata": tfds.features.FeaturesDict({
          "episode_id": tfds.features.Scalar(dtype=np.int64),
          "task_id": tfds.features.Scalar(dtype=np.int64),
          "episode_return": tfds.features.Scalar(dtype=np.float32),
          "success": tf.bool,
          "policy": tfds.features.Text(),
      }),
  })


class RLDSWriter:
  """Writes episodes to an RLDS dataset directory, atomically.

  Episodes go to a hidden temporary directory beside ``output_dir``; `close`
  writes the TFDS metadata and renames the directory into place in one step,
  so a run killed half-way leaves no directory that loads as a dataset.

  Usage:
    with RLDSWriter(path, observation_spec, action_dim, action_low,
                    action_high, env_name="two_routes") as writer:
      writer.add_episode(steps, episode_metadata)
  """

  def __init__(self, output_dir: str, observation_spec: Mapping[str, types.ObsSpec],
               action_dim: int, action_low, action_high, env_name: str = "",
               overwrite: bool = False, extra_metadata: Mapping[str, Any] | None = None,
               protect: Sequence[str] = ()):
    """Args:
      output_dir: the dataset directory to write.
      observation_spec, action_dim, action_low, action_high, env_name: what
        the episodes hold and where they come from.
      overwrite: replace a dataset already at ``output_dir``: only one this
        library wrote, holding nothing else (`check_output_dir`).
      extra_metadata: more entries for ``pa_rl_metadata.json``.
      protect: paths that must survive (e.g. the file being converted): a
        replaced dataset may not contain them.

    Raises:
      FileExistsError: ``output_dir`` exists and may not be replaced.
      DirectoryInUseError: another process is writing this dataset.
    """
    self._output_dir = check_output_dir(output_dir, overwrite, protect)
    self._protect = tuple(protect)
    self._observation_spec = {k: v if isinstance(v, types.ObsSpec) else types.ObsSpec(**v)
                              for k, v in observation_spec.items()}
    self._action_dim = int(action_dim)
    self._features = _features(self._observation_spec, self._action_dim)
    parent, name = os.path.split(self._output_dir)
    file_utils.make_dirs(parent, "the parent directory of output_dir")
    self._lock = file_utils.DirectoryLock(os.path.join(parent, f".{name}.lock"),
                                          f"output_dir {self._output_dir}").acquire()
    try:
      self._remove_leftovers()
      self._tmp_dir = file_utils.temporary_path(self._output_dir)
      os.mkdir(self._tmp_dir)  # Not mkdtemp's 0o700: the dataset keeps the usual mode.
    except BaseException:
      self._lock.release()
      raise
    self._metadata = {
        "env_name": env_name,
        "action_low": np.asarray(action_low, np.float32).reshape(-1).tolist(),
        "action_high": np.asarray(action_high, np.float32).reshape(-1).tolist(),
        "observation_spec": {k: {"shape": list(v.shape), "type": v.type}
                             for k, v in self._observation_spec.items()},
        **dict(extra_metadata or {}),
    }
    self._overwrite = overwrite
    self._num_episodes = 0
    self._num_bytes = 0
    self._num_steps = 0
    self._shard_path = os.path.join(self._tmp_dir, "records.tmp")
    import tensorflow as tf
    self._record_writer = tf.io.TFRecordWriter(self._shard_path)
    self._closed = False

  def _remove_leftovers(self) -> None:
    """Removes what a killed writer of this dataset left beside it (under the
    lock, so no live writer's): its temporary directories, and the old copy
    an interrupted overwrite set aside once the new one is in place."""
    parent, name = os.path.split(self._output_dir)
    file_utils.remove_stale_temporaries(parent, prefix=name + ".tmp-")
    if os.path.exists(self._output_dir):
      for entry in os.listdir(parent):
        if _OLD_COPY.match(entry) and entry.startswith(f".{name}.old-"):
          shutil.rmtree(os.path.join(parent, entry), ignore_errors=True)

  @property
  def num_episodes(self) -> int:
    return self._num_episodes

  def add_episode(self, steps: Mapping[str, Any],
                  episode_metadata: Mapping[str, Any] | None = None) -> None:
    """Adds one episode.

    Args:
      steps: the RLDS step fields, each stacked over the episode's T steps
        (observation is a dict of ``[T, ...]`` arrays).
      episode_metadata: optional ``task_id``, ``success``, ``policy``;
        ``episode_id`` and ``episode_return`` are filled in.
    """
    if self._closed:
      raise RuntimeError("RLDSWriter is closed")
    steps = validate_episode(steps, self._observation_spec, self._action_dim)
    meta = dict(episode_metadata or {})
    example = {
        rlds.STEPS: steps,
        "episode_metadata": {
            "episode_id": self._num_episodes,
            "task_id": int(meta.get("task_id", 0)),
            "episode_return": float(np.sum(steps[rlds.REWARD])),
            "success": bool(meta.get("success", False)),
            "policy": str(meta.get("policy", "")),
        },
    }
    serialized = self._features.serialize_example(example)
    self._record_writer.write(serialized)
    self._num_bytes += len(serialized)
    self._num_episodes += 1
    self._num_steps += len(steps[rlds.REWARD])

  def add_npz(self, name: str, arrays: Mapping[str, np.ndarray]) -> None:
    """Stores ``arrays`` as ``<dataset>/<name>`` (an ``.npz``), moved into place
    with the dataset (e.g. the raw source an import came from)."""
    if self._closed:
      raise RuntimeError("RLDSWriter is closed")
    if os.path.isabs(name) or ".." in name.split("/") or not name.endswith(".npz"):
      raise ValueError(f"name must be a relative path ending in .npz; got {name!r}")
    path = os.path.join(self._tmp_dir, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.savez_compressed(path, **{k: np.asarray(v) for k, v in arrays.items()})

  def close(self) -> str:
    """Finishes the dataset and moves it into place; returns its path."""
    if self._closed:
      return self._output_dir
    import tensorflow_datasets as tfds
    self._record_writer.close()
    if self._num_episodes == 0:
      self.abort()
      raise DatasetError("no episodes were added; an empty dataset is not written")
    shard = os.path.join(
        self._tmp_dir, f"{_DATASET_NAME}-train.tfrecord-00000-of-00001")
    os.rename(self._shard_path, shard)
    tfds.folder_dataset.write_metadata(
        data_dir=self._tmp_dir,
        features=self._features,
        split_infos=[tfds.core.SplitInfo(
            name="train", shard_lengths=[self._num_episodes],
            num_bytes=self._num_bytes)],
        filename_template=_FILENAME_TEMPLATE,
        check_data=True,
        description="Episodes collected by pa_rl (RLDS format).")
    self._metadata["num_episodes"] = self._num_episodes
    self._metadata["num_steps"] = self._num_steps
    self._metadata["files"] = sorted(
        os.path.relpath(os.path.join(root, f), self._tmp_dir)
        for root, _, files in os.walk(self._tmp_dir) for f in files) + [_METADATA_FILE]
    file_utils.write_json_atomic(os.path.join(self._tmp_dir, _METADATA_FILE), self._metadata)
    try:
      if os.path.exists(self._output_dir):
        # overwrite=True, checked again now (the folder may have changed since
        # the writer started); the old dataset is moved aside first so that a
        # crash between the two renames still leaves a complete dataset on disk.
        check_output_dir(self._output_dir, True, self._protect)
        parent, name = os.path.split(self._output_dir)
        trash = os.path.join(parent, f".{name}.old-{uuid.uuid4().hex[:8]}")
        os.rename(self._output_dir, trash)
        os.rename(self._tmp_dir, self._output_dir)
        shutil.rmtree(trash, ignore_errors=True)
      else:
        os.rename(self._tmp_dir, self._output_dir)
    except BaseException:
      self.abort()
      raise
    self._closed = True
    self._lock.release()
    return self._output_dir

  def abort(self) -> None:
    """Discards everything written so far."""
    if not self._closed:
      try:
        self._record_writer.close()
      except Exception:  # pylint: disable=broad-except
        pass
      shutil.rmtree(self._tmp_dir, ignore_errors=True)
      self._closed = True
      self._lock.release()

  def __enter__(self):
    return self

  def __exit__(self, exc_type, exc, tb):
    if exc_type is None:
      self.close()
    else:
      self.abort()
    return False


def validate_episode(steps: Mapping[str, Any], observation_spec: Mapping[str, types.ObsSpec],
                     action_dim: int) -> dict[str, Any]:
  """Checks one episode's step fields and returns them as typed arrays.

  Raises:
    DatasetError: a field is missing, has the wrong shape, or holds NaN/Inf.
  """
  missing = [f for f in STEP_FIELDS if f not in steps]
  if missing:
    raise DatasetError(f"episode is missing step fields {missing}")
  num_steps = len(steps[rlds.REWARD])
  if num_steps < 2:
    raise DatasetError(
        f"an episode needs at least 2 steps (first and last); got {num_steps}")
  obs = steps[rlds.OBSERVATION]
  if set(obs) != set(observation_spec):
    raise DatasetError(
        f"observation keys {sorted(obs)} do not match the expected keys "
        f"{sorted(observation_spec)}")
  out_obs = {}
  for key, spec in observation_spec.items():
    dtype = np.uint8 if spec.type == types.RGB else np.float32
    value = np.asarray(obs[key])
    if value.shape != (num_steps, *spec.shape):
      raise DatasetError(
          f"observation[{key!r}] has shape {value.shape}; expected "
          f"{(num_steps, *spec.shape)}")
    value = value.astype(dtype)
    if dtype == np.float32 and not np.all(np.isfinite(value)):
      raise DatasetError(f"observation[{key!r}] holds NaN or Inf")
    out_obs[key] = value
  out = {rlds.OBSERVATION: out_obs}
  for field, shape in ((rlds.ACTION, (num_steps, action_dim)),
                       (rlds.REWARD, (num_steps,)), (rlds.DISCOUNT, (num_steps,))):
    value = np.asarray(steps[field], np.float32)
    if value.shape != shape:
      raise DatasetError(f"{field} has shape {value.shape}; expected {shape}")
    if not np.all(np.isfinite(value)):
      raise DatasetError(f"{field} holds NaN or Inf")
    out[field] = value
  for field in (rlds.IS_FIRST, rlds.IS_LAST, rlds.IS_TERMINAL):
    value = np.asarray(steps[field], bool)
    if value.shape != (num_steps,):
      raise DatasetError(f"{field} has shape {value.shape}; expected {(num_steps,)}")
    out[field] = value
  if not out[rlds.IS_FIRST][0] or out[rlds.IS_FIRST][1:].any():
    raise DatasetError("is_first must be True on the first step only")
  if not out[rlds.IS_LAST][-1] or out[rlds.IS_LAST][:-1].any():
    raise DatasetError("is_last must be True on the last step only")
  if out[rlds.IS_TERMINAL][:-1].any():
    first = int(np.flatnonzero(out[rlds.IS_TERMINAL][:-1])[0])
    raise DatasetError(
        f"is_terminal may only be True on the last step (it is on step {first} of "
        f"{num_steps}); a terminal state inside an episode (e.g. a goal the data goes "
        "on past) is a discount of 0 on that step: n-step targets and Monte-Carlo "
        "returns stop there")
  return out


def _read_json_object(path: str) -> dict[str, Any]:
  try:
    with open(path, encoding="utf-8") as f:
      value = json.load(f)
  except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
    raise DatasetError(f"{path} is not valid JSON: {e}") from e
  if not isinstance(value, dict):
    raise DatasetError(f"{path} must hold a JSON object; got {type(value).__name__}")
  return value


def read_metadata(path: str) -> dict[str, Any]:
  """Reads the pa_rl sidecar metadata; {} for RLDS data written elsewhere.

  Raises:
    DatasetError: the file is not JSON, or an entry the loader uses (action
      bounds, counts, observation spec) has the wrong form.
  """
  meta_path = os.path.join(path, _METADATA_FILE)
  if not os.path.exists(meta_path):
    return {}
  meta = _read_json_object(meta_path)
  where = f"{meta_path}:"
  bounds = {}
  for name in ("action_low", "action_high"):
    if name in meta:
      value = meta[name]
      if not isinstance(value, list) or not value or not all(
          isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        raise DatasetError(f"{where} {name} must be a non-empty list of numbers; got {value!r}")
      if any(np.isnan(v) for v in value):
        raise DatasetError(f"{where} {name} holds NaN")
      bounds[name] = np.asarray(value, np.float64)
  if len(bounds) == 1:
    raise DatasetError(f"{where} has {next(iter(bounds))} without its pair")
  if bounds:
    low, high = bounds["action_low"], bounds["action_high"]
    if low.shape != high.shape:
      raise DatasetError(f"{where} action_low has {low.size} entries but action_high "
                         f"{high.size}")
    empty = np.flatnonzero(~(low < high)).tolist()
    if empty:
      # A zero-width range maps every action to one value (and divides by 0
      # when actions are normalized to [-1, 1]).
      raise DatasetError(f"{where} action_low must be < action_high in every dimension; "
                         f"dimension(s) {empty} have action_low >= action_high (action_low "
                         f"{low.tolist()}, action_high {high.tolist()})")
  for name in ("num_episodes", "num_steps"):
    value = meta.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
      raise DatasetError(f"{where} {name} must be an int >= 0; got {value!r}")
  spec = meta.get("observation_spec", {})
  if not isinstance(spec, dict):
    raise DatasetError(f"{where} observation_spec must be an object; got {spec!r}")
  for key, entry in spec.items():
    try:
      types.ObsSpec(**entry)
    except (TypeError, ValueError) as e:
      raise DatasetError(f"{where} observation_spec[{key!r}] is invalid: {e}") from e
  return meta


def _check_against_metadata(path: str, episodes: list[dict[str, Any]],
                            meta: Mapping[str, Any], num_examples: int | None) -> None:
  """The records must agree with what was recorded when they were written: a
  shard cut at a record boundary reads without a CRC error, one episode short."""
  if num_examples is not None and num_examples != len(episodes):
    raise DatasetError(f"{path!r}: dataset_info.json records {num_examples} episodes but "
                       f"the records hold {len(episodes)} (a truncated or replaced shard?)")
  if "num_episodes" in meta and meta["num_episodes"] != len(episodes):
    raise DatasetError(f"{path!r}: {_METADATA_FILE} records num_episodes="
                       f"{meta['num_episodes']} but the records hold {len(episodes)}")
  if "num_steps" in meta:
    steps = sum(len(e[rlds.STEPS][rlds.REWARD]) for e in episodes)
    if meta["num_steps"] != steps:
      raise DatasetError(f"{path!r}: {_METADATA_FILE} records num_steps={meta['num_steps']} "
                         f"but the records hold {steps}")
  action_dim = episodes[0][rlds.STEPS][rlds.ACTION].shape[-1]
  if "action_low" in meta and len(meta["action_low"]) != action_dim:
    raise DatasetError(f"{path!r}: {_METADATA_FILE} action_low has {len(meta['action_low'])} "
                       f"entries but the actions have {action_dim} dimensions")
  observations = episodes[0][rlds.STEPS][rlds.OBSERVATION]
  for key, entry in meta.get("observation_spec", {}).items():
    value = observations.get(key)
    if value is None or tuple(value.shape[1:]) != tuple(entry["shape"]):
      raise DatasetError(f"{path!r}: {_METADATA_FILE} observation_spec[{key!r}] "
                         f"{entry} does not match the records' observation "
                         f"{None if value is None else value.shape[1:]}")


def load_episodes(path: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
  """Loads every episode of an RLDS dataset directory into numpy.

  Args:
    path: a directory that ``tfds.builder_from_directory`` accepts (it holds
      ``dataset_info.json`` and ``features.json``).

  Returns:
    (episodes, metadata): each episode is ``{"steps": {field: array},
    "episode_metadata": {...}}`` with observations as dicts of arrays;
    metadata is the pa_rl sidecar (may be empty).

  Raises:
    DatasetError: the path is missing, is not an RLDS dataset, lacks the
      standard step fields, is empty or holds NaN/Inf.
  """
  path = os.fspath(path)
  if not os.path.exists(path):
    raise DatasetError(f"dataset path {path!r} does not exist")
  if not os.path.isdir(path):
    raise DatasetError(f"dataset path {path!r} is not a directory")
  for required in ("dataset_info.json", "features.json"):
    if not os.path.exists(os.path.join(path, required)):
      raise DatasetError(
          f"{path!r} is not an RLDS/TFDS dataset directory: {required} is missing "
          "(write datasets with `python -m pa_rl.binaries.collect`)")
  for required in ("dataset_info.json", "features.json"):
    _read_json_object(os.path.join(path, required))  # A clear error before tfds'.
  meta = read_metadata(path)
  import tensorflow as tf
  import tensorflow_datasets as tfds
  try:
    builder = tfds.builder_from_directory(path)
  except Exception as e:  # tfds raises many types for bad metadata.
    raise DatasetError(f"{path!r} could not be opened as a TFDS dataset: {e}") from e
  features = builder.info.features
  if rlds.STEPS not in features:
    raise DatasetError(f"{path!r} has no {rlds.STEPS!r} feature; it is not an RLDS dataset")
  step_features = features[rlds.STEPS].feature
  missing = [f for f in STEP_FIELDS if f not in step_features]
  if missing:
    raise DatasetError(f"{path!r}: steps are missing the RLDS fields {missing}")
  if not builder.info.splits:
    raise DatasetError(f"{path!r}: dataset_info.json lists no splits")
  split = "train" if "train" in builder.info.splits else next(iter(builder.info.splits))

  def shape_mismatches(max_records: int = 64) -> list[str]:
    """Features whose declared shape disagrees with the values in the first
    records: a step feature of shape S holds T * prod(S) values in an
    episode of T steps (T is what most step features agree on)."""
    declared = {}
    def flatten(info, prefix):
      for key, value in info.items():
        if isinstance(value, Mapping):
          flatten(value, f"{prefix}{key}/")
        else:
          declared[f"{prefix}{key}"] = tuple(value.shape)
    flatten(features.get_serialized_info(), "")
    found = {}
    files = [os.fspath(f) for f in builder.info.splits[split].filepaths]
    for raw in tf.data.TFRecordDataset(files).take(max_records):
      example = tf.train.Example.FromString(raw.numpy()).features.feature
      counts = {k: len(getattr(v, v.WhichOneof("kind")).value) if v.WhichOneof("kind")
                else 0 for k, v in example.items()}
      per_step = {k: s for k, s in declared.items() if s and s[0] is None
                  and None not in s[1:] and k in counts}
      lengths = [counts[k] // int(np.prod(s[1:])) for k, s in per_step.items()
                 if int(np.prod(s[1:])) and counts[k] % int(np.prod(s[1:])) == 0]
      num_steps = max(set(lengths), key=lengths.count) if lengths else None
      for key, shape in declared.items():
        if key not in counts:
          found.setdefault(key, f"{key!r} is declared but missing from the records")
        elif key in per_step and num_steps:
          if counts[key] != num_steps * int(np.prod(shape[1:])):
            held = counts[key] / num_steps
            found.setdefault(key, f"{key!r} declares shape {shape[1:]} per step "
                             f"({int(np.prod(shape[1:]))} values) but the records hold "
                             f"{held:g} values per step")
        elif None not in shape and counts[key] != int(np.prod(shape)):
          found.setdefault(key, f"{key!r} declares shape {shape} ({int(np.prod(shape))} "
                           f"values) but the records hold {counts[key]}")
    return list(found.values())

  try:
    ds = builder.as_dataset(split=split)
    has_meta = "episode_metadata" in features
    episodes = []
    for episode in tfds.as_numpy(ds.map(
        lambda ep: {
            rlds.STEPS: tf.data.Dataset.get_single_element(
                ep[rlds.STEPS].batch(1 << 30)),
            "episode_metadata": ep["episode_metadata"] if has_meta else {},
        })):
      episodes.append(episode)
  except DatasetError:
    raise
  except Exception as e:  # corrupt records surface as tf errors.
    # TF names no feature when features.json declares shapes the records do
    # not hold ("All components must have the same size"); find them.
    try:
      lies = shape_mismatches()
    except Exception:  # pylint: disable=broad-except
      lies = []  # Records too corrupt to parse: the TF error says more.
    if lies:
      raise DatasetError(f"{path!r}: features.json declares shapes the records do not hold: "
                         + "; ".join(lies)) from e
    raise DatasetError(f"{path!r}: failed to read records ({type(e).__name__}: "
                       f"{str(e).splitlines()[0] if str(e) else ''})") from e
  if not episodes:
    raise DatasetError(f"{path!r} holds no episodes")
  for i, episode in enumerate(episodes):
    steps = episode[rlds.STEPS]
    for field in (rlds.ACTION, rlds.REWARD, rlds.DISCOUNT):
      if not np.all(np.isfinite(steps[field])):
        raise DatasetError(f"{path!r}: episode {i} field {field!r} holds NaN or Inf")
    for key, value in steps[rlds.OBSERVATION].items():
      if np.issubdtype(value.dtype, np.floating) and not np.all(np.isfinite(value)):
        raise DatasetError(f"{path!r}: episode {i} observation[{key!r}] holds NaN or Inf")
    episode_meta = episode["episode_metadata"]
    if "policy" in episode_meta and isinstance(episode_meta["policy"], bytes):
      episode_meta["policy"] = episode_meta["policy"].decode()
  try:
    num_examples = int(builder.info.splits[split].num_examples)
  except Exception:  # pylint: disable=broad-except
    num_examples = None  # TFDS data without shard lengths: nothing to compare.
  _check_against_metadata(path, episodes, meta, num_examples or None)
  return episodes, meta
