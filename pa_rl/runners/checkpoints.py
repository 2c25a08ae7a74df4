"""A run's checkpoints: ``<workdir>/checkpoints/ckpt_<step>.npz``.

Each checkpoint is written by `Learner.save_checkpoint` (the `TrainingState`
and the sampling keys, atomically), so a resumed run continues exactly where
the checkpoint left off. Beside it, ``ckpt_<step>.extra.npz`` holds what the
runner keeps with it (offline runs: the update seconds spent; online runs:
the replay buffer and counters), written first, so a checkpoint whose main
file exists is complete. The newest ``keep`` checkpoints are kept.
"""

from __future__ import annotations

import os
import re
from typing import Any

from absl import logging

from pa_rl.agents import learner as learner_lib
from pa_rl.agents import state as state_lib

_PATTERN = re.compile(r"^ckpt_(\d+)\.npz$")


class Checkpointer:
  """Saves and restores a learner's checkpoints in one directory."""

  def __init__(self, directory: str, keep: int = 3):
    """Args:
      directory: where the checkpoints go (created on the first save).
      keep: how many of the newest checkpoints to keep (>= 1).
    """
    if keep < 1:
      raise ValueError(f"keep_checkpoints must be >= 1; got {keep}")
    self.directory = directory
    self.keep = keep

  def path(self, step: int) -> str:
    return os.path.join(self.directory, f"ckpt_{int(step)}.npz")

  def extra_path(self, step: int) -> str:
    return os.path.join(self.directory, f"ckpt_{int(step)}.extra.npz")

  def steps(self) -> list[int]:
    """Steps of the checkpoints on disk, oldest first."""
    if not os.path.isdir(self.directory):
      return []
    found = (_PATTERN.match(name) for name in os.listdir(self.directory))
    return sorted(int(m.group(1)) for m in found if m)

  def save(self, learner: learner_lib.Learner, step: int, extra: Any = None) -> str:
    """Writes the learner (and ``extra``, a pytree of arrays) at ``step``."""
    if extra is not None:
      state_lib.save_checkpoint(self.extra_path(step), extra)
    path = self.path(step)
    learner.save_checkpoint(path)
    for old in self.steps()[:-self.keep]:
      for stale in (self.path(old), self.extra_path(old)):
        if os.path.exists(stale):
          os.remove(stale)
    return path

  def restore(self, learner: learner_lib.Learner, step: int | None = None,
              extra_template: Any = None) -> tuple[int | None, Any]:
    """Restores the newest loadable checkpoint (or the one at ``step``).

    A checkpoint that cannot be loaded (truncated, corrupted, of another
    structure) is skipped with a warning, and the next older one is tried.

    Args:
      learner: restored in place.
      step: restore exactly this checkpoint (an error if it fails).
      extra_template: the structure of the ``extra`` saved beside it.

    Returns:
      (step, extra), or (None, None) when there is no checkpoint.

    Raises:
      CheckpointError: ``step`` was given and that checkpoint cannot be
        loaded, or it does not exist.
    """
    candidates = list(reversed(self.steps())) if step is None else [int(step)]
    for candidate in candidates:
      try:
        extra = None
        if extra_template is not None:
          extra, _ = state_lib.load_checkpoint(self.extra_path(candidate), extra_template)
        learner.restore_checkpoint(self.path(candidate))
      except state_lib.CheckpointError as e:
        if step is not None:
          raise
        logging.warning("Skipping checkpoint %s: %s", self.path(candidate), e)
        print(f"Warning: skipping unloadable checkpoint {self.path(candidate)} ({e})")
        continue
      return candidate, extra
    return None, None


def for_run(workdir: str, keep: int, budget_name: str, budget: int) -> Checkpointer:
  """The checkpointer of a run's workdir (``<workdir>/checkpoints``).

  Raises:
    ValueError: ``budget`` (``num_steps``, ``num_episodes``) is 0 and there is
      no checkpoint to resume: the run would train nothing.
  """
  checkpointer = Checkpointer(os.path.join(workdir, "checkpoints"), keep)
  if not budget and not checkpointer.steps():
    raise ValueError(f"{budget_name}=0 trains nothing, and the workdir {workdir} holds no "
                     f"checkpoint to resume; set {budget_name} >= 1")
  return checkpointer
