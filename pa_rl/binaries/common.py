"""Flags, gin handling and error reporting shared by the binaries.

Every training and evaluation binary takes ``--gin_file`` (repeatable; a
path, or a packaged config such as ``parl/diffusion_calql_builtin.gin``),
``--gin_bindings`` (repeatable) and ``--workdir`` (required). It writes
``config.gin`` (what was asked) once its run is accepted, and
``operative_config.gin`` (every value actually used, defaults included)
after the first step.
"""

from __future__ import annotations

from typing import Callable

from absl import app
from absl import flags

GIN_FILE = flags.DEFINE_multi_string(
    "gin_file", [], "Gin config file (repeatable): a path or a packaged config name, e.g. "
    "parl/diffusion_calql_builtin.gin.")
GIN_BINDINGS = flags.DEFINE_multi_string(
    "gin_bindings", [], "Gin binding (repeatable), e.g. \"train_offline.num_steps=1000\".")
WORKDIR = flags.DEFINE_string("workdir", None, "The run's directory (required).")
flags.mark_flag_as_required("workdir")


def parse_gin() -> None:
  """Parses the gin flags (nothing is written).

  Raises:
    app.UsageError: an unknown or malformed binding; the message names it.
  """
  from pa_rl import gin_registration  # pylint: disable=g-import-not-at-top
  try:
    gin_registration.parse(GIN_FILE.value, GIN_BINDINGS.value)
  except gin_registration.GinConfigError as e:
    raise app.UsageError(str(e)) from e


def config_writer(config_dir: str) -> Callable[[], None]:
  """A callback that writes the parsed gin config, ``config.gin``, into
  ``config_dir`` (the runners call it once the run is accepted)."""
  from pa_rl import gin_registration  # pylint: disable=g-import-not-at-top
  return lambda: gin_registration.write_config(config_dir)


def operative_writer(config_dir: str) -> Callable[[], None]:
  """A callback that writes gin's operative config into ``config_dir``."""
  from pa_rl import gin_registration  # pylint: disable=g-import-not-at-top
  return lambda: gin_registration.write_operative_config(config_dir)
