"""Progress reporting that stays quiet without a terminal.

On a TTY a tqdm bar is drawn; elsewhere (CI, log files) a plain log line is
written every ``log_every`` fraction of the work, so progress is never lost.
"""

from __future__ import annotations

import sys
import time
from typing import Iterable, Iterator, TypeVar

from absl import logging
import tqdm

T = TypeVar("T")


def progress(iterable: Iterable[T], *, total: int | None = None, desc: str = "",
             log_every: float = 0.1) -> Iterator[T]:
  """Yields from ``iterable`` while reporting progress.

  Args:
    iterable: the work.
    total: its length, when ``len`` cannot tell.
    desc: what the bar or the log line calls the work.
    log_every: without a TTY, log after each such fraction of ``total``.
  """
  if total is None and hasattr(iterable, "__len__"):
    total = len(iterable)  # type: ignore[arg-type]
  if sys.stderr.isatty():
    yield from tqdm.tqdm(iterable, total=total, desc=desc, dynamic_ncols=True)
    return
  start = time.time()
  every = max(1, int(total * log_every)) if total else 1000
  count = 0
  for item in iterable:
    yield item
    count += 1
    if count % every == 0 or (total and count == total):
      elapsed = time.time() - start
      rate = count / elapsed if elapsed > 0 else float("inf")
      of = f"/{total}" if total else ""
      logging.info("%s: %d%s (%.1f/s)", desc or "progress", count, of, rate)
