"""How every binary runs: `run` in place of ``app.run``.

An error of the user's making (a bad setting, file or dataset, a workdir in
use) prints as one ``Error: ...`` line with exit status 1; ``--verbosity``
(any level) adds the traceback. Ctrl-C exits with status 130 once the runner
has said where a rerun resumes.
"""

from __future__ import annotations

import re
import sys
import traceback
from typing import Callable

from absl import app
from absl import flags


def check_no_arguments(argv) -> None:
  """Refuses positional arguments: every setting is a flag."""
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments {argv[1:]}; every setting is a flag (or, "
                         "for the training binaries, a --gin_bindings)")


# The library's errors that a user can act on: printed as one line.
def _user_errors() -> tuple[type[BaseException], ...]:
  from pa_rl import file_utils  # pylint: disable=g-import-not-at-top
  return (ValueError, OSError, file_utils.DirectoryInUseError, FloatingPointError)


# Lines gin appends to the message of an error raised inside a configurable.
_GIN_CONTEXT = re.compile(r"^\s*In call to configurable .*$|^\s*In file .*$", re.MULTILINE)


def error_line(error: BaseException) -> str:
  """The message of ``error`` without gin's call-site lines."""
  text = _GIN_CONTEXT.sub("", str(error)).strip()
  return text or type(error).__name__


def run(main: Callable[[list[str]], None]) -> None:
  """``app.run(main)``, with user errors as one line and a clean interrupt.

  A `_user_errors` exception prints ``Error: <message>`` to stderr and exits
  with status 1 (the traceback too when ``--verbosity`` is given); Ctrl-C
  exits with status 130 after the runner has said where to resume.
  """
  def guarded(argv):
    try:
      main(argv)
    except app.UsageError:
      raise
    except KeyboardInterrupt:
      sys.stderr.write("Interrupted.\n")
      sys.exit(130)
    except _user_errors() as e:  # pylint: disable=catching-non-exception
      if flags.FLAGS.is_parsed() and flags.FLAGS["verbosity"].present:
        traceback.print_exc()
      sys.stderr.write(f"Error: {error_line(e)}\n")
      sys.exit(1)
  app.run(guarded)
