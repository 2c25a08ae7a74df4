"""absl entry points: collect, convert, train_offline, finetune_online, evaluate,
quickstart.

Importing this package keeps TensorFlow's and TensorFlow Datasets' INFO lines
(oneDNN notes, "Load dataset info from ...", "Creating a tf.data.Dataset
...") out of the binaries' output; the library's own progress and results
lines stay. ``--verbosity=0`` (absl's flag) brings them back. Warnings and
errors always show.
"""

import contextlib
import importlib.util
import logging
import os
import re
import sys
import tempfile

from absl import flags
from absl import logging as absl_logging

_VERBOSE = any(a.startswith(("--verbosity", "-v=", "--v=")) for a in sys.argv[1:])
# What TensorFlow's C++ side writes to stderr on import, at INFO level (absl
# C++ logging, which TF_CPP_MIN_LOG_LEVEL no longer reaches).
_NATIVE_INFO = re.compile(r"^(I\d{4} |WARNING: All log messages before absl::InitializeLog)")


@contextlib.contextmanager
def _native_info_dropped():
  """Captures file descriptor 2 and writes back all but native INFO lines."""
  sys.stderr.flush()
  saved = os.dup(2)
  with tempfile.TemporaryFile(mode="w+b") as captured:
    os.dup2(captured.fileno(), 2)
    try:
      yield
    finally:
      sys.stderr.flush()
      os.dup2(saved, 2)
      os.close(saved)
      captured.seek(0)
      kept = [line for line in captured.read().decode(errors="replace").splitlines(True)
              if not _NATIVE_INFO.match(line)]
      sys.stderr.write("".join(kept))


if not _VERBOSE and "tensorflow" not in sys.modules:
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  with _native_info_dropped():
    import tensorflow  # pylint: disable=g-import-not-at-top,unused-import


def _package_dirs(*names: str) -> tuple[str, ...]:
  dirs = []
  for name in names:
    spec = importlib.util.find_spec(name)
    if spec is not None and spec.submodule_search_locations:
      dirs += [os.path.join(d, "") for d in spec.submodule_search_locations]
  return tuple(dirs)


class QuietThirdPartyInfo(logging.Filter):
  """Drops INFO (and lower) records logged from TensorFlow's and JAX's packages unless
  ``--verbosity`` was given."""

  def __init__(self):
    super().__init__()
    self._dirs = _package_dirs("tensorflow_datasets", "tensorflow", "jax")

  def filter(self, record: logging.LogRecord) -> bool:
    if record.levelno >= logging.WARNING or not self._dirs:
      return True
    if flags.FLAGS.is_parsed() and flags.FLAGS["verbosity"].present:
      return True
    return not record.pathname.startswith(self._dirs)


QUIET_FILTER = QuietThirdPartyInfo()
absl_logging.get_absl_handler().addFilter(QUIET_FILTER)
