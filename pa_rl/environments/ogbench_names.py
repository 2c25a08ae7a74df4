"""OGBench names: dataset names -> environment ids, the way OGBench spells them.

OGBench (Park et al., 2025, pip ``ogbench``) names a dataset
``<env>-<type>-v0`` (``scene-play-v0``, ``pointmaze-medium-navigate-v0``)
and its single-task variants ``<env>-<type>-singletask[-taskK]-v0``
(``scene-play-singletask-task2-v0``); the environment a dataset belongs to
drops the type: ``scene-v0``, ``scene-singletask-task2-v0``. This module
follows ``ogbench.utils.make_env_and_datasets``' parsing, so the library reads
the names exactly as OGBench's own loader does. It imports ``ogbench`` (which
registers the ids with gymnasium) only when asked to.
"""

from __future__ import annotations

import dataclasses
import re

DATASET_TYPES = ("play", "noisy", "navigate", "stitch", "explore")
# The task OGBench's single-task protocol reports when none is named
# (``scene-singletask-v0`` is ``scene-singletask-task2-v0``).
NUM_TASKS = 5

_REGISTERED = False


@dataclasses.dataclass(frozen=True)
class DatasetName:
  """An OGBench dataset name, split the way OGBench's loader splits it.

  Attributes:
    name: the name as given (``scene-play-singletask-task2-v0``).
    dataset: the goal-conditioned dataset the data comes from
      (``scene-play-v0``).
    dataset_type: ``play``, ``noisy``, ``navigate``, ``stitch`` or ``explore``.
    env_id: the environment to evaluate in (``scene-singletask-task2-v0``;
      ``scene-v0`` for a goal-conditioned name).
    collection_env_id: the goal-conditioned environment the data is
      generated in (``scene-v0``).
    singletask: whether the name asks for single-task rewards.
    task: the single-task task number, or None for the environment's default.
  """
  name: str
  dataset: str
  dataset_type: str
  env_id: str
  collection_env_id: str
  singletask: bool
  task: int | None


def parse_dataset_name(name: str) -> DatasetName | None:
  """Splits an OGBench dataset name; None when ``name`` is not one.

  Only the spelling is checked here; `is_ogbench_id` checks that the
  environment exists.
  """
  splits = name.split("-")
  if len(splits) < 3 or not re.fullmatch(r"v\d+", splits[-1]):
    return None
  if "singletask" in splits:
    pos = splits.index("singletask")
    if pos < 2 or splits[pos - 1] not in DATASET_TYPES:
      return None
    rest = splits[pos + 1:-1]
    if rest and not (len(rest) == 1 and re.fullmatch(r"task\d+", rest[0])):
      return None
    task = int(rest[0][4:]) if rest else None
    env_id = "-".join(splits[:pos - 1] + splits[pos:])
    dataset = "-".join(splits[:pos] + splits[-1:])
    dataset_type = splits[pos - 1]
    singletask = True
  else:
    if splits[-2] not in DATASET_TYPES:
      return None
    env_id = "-".join(splits[:-2] + splits[-1:])
    dataset = name
    dataset_type = splits[-2]
    singletask, task = False, None
  collection = "-".join(dataset.split("-")[:-2] + dataset.split("-")[-1:])
  return DatasetName(name=name, dataset=dataset, dataset_type=dataset_type, env_id=env_id,
                     collection_env_id=collection, singletask=singletask, task=task)


def register() -> bool:
  """Imports ``ogbench`` once, which registers its ids with gymnasium.

  Returns:
    Whether ``ogbench`` is installed.
  """
  global _REGISTERED
  if _REGISTERED:
    return True
  try:
    import ogbench  # pylint: disable=g-import-not-at-top,unused-import
  except ImportError:
    return False
  _REGISTERED = True
  return True


def is_ogbench_id(env_id: str) -> bool:
  """Whether ``env_id`` is a gymnasium id that OGBench registered."""
  import gymnasium as gym  # pylint: disable=g-import-not-at-top
  if env_id not in gym.registry and not register():
    return False
  spec = gym.registry.get(env_id)
  entry_point = getattr(spec, "entry_point", "")
  return isinstance(entry_point, str) and entry_point.startswith("ogbench.")


def resolve_dataset_name(name: str) -> DatasetName | None:
  """`parse_dataset_name`, and only if its environment is OGBench's."""
  parsed = parse_dataset_name(name)
  if parsed is None or not is_ogbench_id(parsed.env_id):
    return None
  return parsed


def singletask_env_id(env_id: str) -> bool:
  """Whether an OGBench environment id is a single-task one."""
  return "singletask" in env_id.split("-")
