"""Training metrics to CSV files and TensorBoard, under a run's workdir.

Each group of metrics (``train``, ``eval``, ``online``) goes to its own
``<logdir>/<group>.csv`` (one row per logged step, a ``step`` column first)
and to TensorBoard event files under ``<logdir>/tensorboard`` (tags are the
metric names, e.g. ``critic/loss``, ``eval/success``).

On resume, rows logged after the restored checkpoint are dropped, so a
learning curve never shows the same steps twice.
"""

from __future__ import annotations

import csv
import math
import os
from typing import Any, Mapping

from absl import logging

from pa_rl import file_utils

STEP = "step"


def read_csv(path: str) -> list[dict[str, float]]:
  """The rows of a metrics CSV as floats (empty cells become NaN)."""
  if not os.path.exists(path):
    return []
  with open(path, newline="") as f:
    rows = list(csv.DictReader(f))
  return [{k: _to_float(v) for k, v in row.items() if k is not None} for row in rows]


def _to_float(value: Any) -> float:
  try:
    return float(value)
  except (TypeError, ValueError):
    return math.nan


class MetricsWriter:
  """Writes metric rows to CSV and TensorBoard.

  Attributes:
    logdir: where the CSV files and the ``tensorboard`` folder go.
  """

  def __init__(self, logdir: str, *, resume_step: int | None = None,
               tensorboard: bool = True):
    """Args:
      logdir: the run's workdir (created if needed).
      resume_step: the step training restarts from; existing CSV rows with a
        larger step are dropped. None keeps every row.
      tensorboard: also write TensorBoard summaries (``tf.summary``).
    """
    self.logdir = logdir
    os.makedirs(logdir, exist_ok=True)
    self._fields: dict[str, list[str]] = {}
    if resume_step is not None:
      self._truncate(resume_step)
    self._summary_writer = None
    if tensorboard:
      self._summary_writer = _make_summary_writer(os.path.join(logdir, "tensorboard"))

  def csv_path(self, group: str) -> str:
    return os.path.join(self.logdir, f"{group}.csv")

  def write(self, group: str, step: int, metrics: Mapping[str, Any]) -> None:
    """Appends one row to ``<group>.csv`` and the scalars to TensorBoard.

    Args:
      group: the CSV file's name (``train``, ``eval``, ``online``).
      step: the x-axis value (learner updates).
      metrics: name -> scalar; non-scalars are skipped.
    """
    row = {STEP: int(step)}
    for key, value in metrics.items():
      try:
        row[key] = float(value)
      except (TypeError, ValueError):
        continue
    self._append(group, row)
    if self._summary_writer is not None:
      import tensorflow as tf  # pylint: disable=g-import-not-at-top
      with self._summary_writer.as_default(step=int(step)):
        for key, value in row.items():
          if key != STEP and math.isfinite(value):
            tf.summary.write(key, tf.constant(value, tf.float32),
                             metadata=_scalar_metadata())

  def flush(self) -> None:
    if self._summary_writer is not None:
      self._summary_writer.flush()

  def close(self) -> None:
    if self._summary_writer is not None:
      self._summary_writer.close()
      self._summary_writer = None

  def _append(self, group: str, row: dict[str, float]) -> None:
    path = self.csv_path(group)
    fields = self._fields.get(group)
    if fields is None and os.path.exists(path):
      with open(path, newline="") as f:
        fields = next(csv.reader(f), None)
    if fields is None:
      fields = [STEP] + sorted(k for k in row if k != STEP)
      _write_rows(path, fields, [])
    new = [k for k in row if k not in fields]
    if new:  # A metric appeared mid-run: rewrite the file with the wider header.
      fields = fields + sorted(new)
      _write_rows(path, fields, read_csv(path))
    self._fields[group] = fields
    with open(path, "a", newline="") as f:
      csv.DictWriter(f, fieldnames=fields, restval="").writerow(row)

  def _truncate(self, resume_step: int) -> None:
    for name in sorted(os.listdir(self.logdir)):
      if not name.endswith(".csv"):
        continue
      path = os.path.join(self.logdir, name)
      with open(path, newline="") as f:
        fields = next(csv.reader(f), None)
      if not fields or fields[0] != STEP:
        continue
      rows = read_csv(path)
      kept = [r for r in rows if r.get(STEP, math.nan) <= resume_step]
      if len(kept) != len(rows):
        logging.info("%s: dropping %d rows logged after step %d", path,
                     len(rows) - len(kept), resume_step)
        _write_rows(path, fields, kept)


def _write_rows(path: str, fields: list[str], rows: list[dict[str, float]]) -> None:
  def write(f):
    writer = csv.DictWriter(f, fieldnames=fields, restval="", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
      out = dict(row)
      if STEP in out and math.isfinite(out[STEP]):
        out[STEP] = int(out[STEP])
      writer.writerow({k: ("" if isinstance(v, float) and math.isnan(v) else v)
                       for k, v in out.items()})
  file_utils.write_atomic(path, write)


def _scalar_metadata():
  """TensorBoard's scalar-plugin tag. `tf.summary.scalar` needs the
  tensorboard package; the raw `tf.summary.write` with this metadata writes
  the same event without it."""
  from tensorflow.core.framework import summary_pb2  # pylint: disable=g-import-not-at-top
  metadata = summary_pb2.SummaryMetadata()
  metadata.plugin_data.plugin_name = "scalars"
  return metadata


def read_tensorboard_scalars(logdir: str) -> dict[str, list[tuple[int, float]]]:
  """tag -> [(step, value)] from the event files under ``logdir`` (tests, scripts)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  out: dict[str, list[tuple[int, float]]] = {}
  for path in sorted(tf.io.gfile.glob(os.path.join(logdir, "events.out.tfevents.*"))):
    for record in tf.data.TFRecordDataset(path):
      event = tf.compat.v1.Event.FromString(record.numpy())
      for value in event.summary.value:
        scalar = float(tf.make_ndarray(value.tensor))
        out.setdefault(value.tag, []).append((int(event.step), scalar))
  return out


def _make_summary_writer(logdir: str):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  try:  # TensorFlow only writes summaries here; the accelerators belong to JAX.
    tf.config.set_visible_devices([], "GPU")
  except (RuntimeError, ValueError):
    pass  # Already initialized by another user in this process.
  return tf.summary.create_file_writer(logdir)
