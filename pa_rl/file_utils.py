"""Files that survive crashes and concurrent runs.

Writes are atomic: a crash never leaves a half-written file under its final
name (write to a unique hidden temporary name beside it, fsync, rename), and
what a killed writer leaves behind has a name `remove_stale_temporaries`
recognises. `DirectoryLock` makes one process at a time the writer of a
directory (a run's workdir, a dataset being written).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
import uuid
from typing import IO, Any, Callable


def write_atomic(path: str, write: Callable[[IO], None], binary: bool = False) -> str:
  """Calls ``write(f)`` on a temporary file, then renames it to ``path``.

  Creates the parent directory if needed; returns ``path``.
  """
  make_dirs(os.path.dirname(os.path.abspath(path)), "directory")
  tmp = temporary_path(path)
  try:
    with open(tmp, "wb" if binary else "w") as f:
      write(f)
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)
  return path


def write_text_atomic(path: str, text: str) -> str:
  """Writes ``text`` to ``path`` atomically; returns ``path``."""
  return write_atomic(path, lambda f: f.write(text))


def write_json_atomic(path: str, obj: Any, **dump_kwargs) -> str:
  """Writes ``obj`` as JSON (``json.dumps(obj, indent=1, **dump_kwargs)``)
  to ``path`` atomically; returns ``path``."""
  return write_text_atomic(path, json.dumps(obj, **{"indent": 1, **dump_kwargs}))


# write_atomic's temporary names: ".<name>.tmp-<8 hex digits>".
_TEMPORARY = re.compile(r"^\..+\.tmp-[0-9a-f]{8}$")


def temporary_path(path: str) -> str:
  """A unique hidden name beside ``path`` that `remove_stale_temporaries`
  recognises as one of ours."""
  directory, name = os.path.split(os.path.abspath(path))
  return os.path.join(directory, f".{name}.tmp-{uuid.uuid4().hex[:8]}")


def remove_stale_temporaries(directory: str, prefix: str = "") -> list[str]:
  """Removes what a killed writer left in ``directory``: entries named as
  `temporary_path` names them (and starting with ``.<prefix>`` when given).

  Call it only while holding the directory's `DirectoryLock`: a live
  writer's temporary file looks the same. Returns the removed paths.
  """
  if not os.path.isdir(directory):
    return []
  removed = []
  for name in sorted(os.listdir(directory)):
    if not _TEMPORARY.match(name) or not name.startswith(f".{prefix}"):
      continue
    path = os.path.join(directory, name)
    if os.path.islink(path):
      continue
    if os.path.isdir(path):
      shutil.rmtree(path)
    else:
      os.remove(path)
    removed.append(path)
  if removed:
    logging.info("Removed temporary files left by an interrupted writer: %s", removed)
  return removed


def check_no_file_in_the_way(path: str, what: str, parents_only: bool = False) -> None:
  """Raises NotADirectoryError, naming ``what``, where the nearest existing
  one of ``path`` and its parents (only its parents with ``parents_only``)
  is a file: ``path`` could not be made a directory."""
  probe = os.path.dirname(path) if parents_only else path
  while probe and not os.path.exists(probe):
    probe = os.path.dirname(probe)
  if probe and not os.path.isdir(probe):
    raise NotADirectoryError(f"{what} {path} cannot be created: {probe} is a file, not a "
                             "directory")


def make_dirs(path: str, what: str) -> str:
  """``os.makedirs(path, exist_ok=True)`` with errors that name ``what``.

  Raises:
    NotADirectoryError: ``path`` or one of its parents is a file.
    PermissionError: a directory on the way cannot be written.
  """
  path = os.path.abspath(os.path.expanduser(path))
  check_no_file_in_the_way(path, what)
  try:
    os.makedirs(path, exist_ok=True)
  except PermissionError as e:
    raise PermissionError(f"{what} {path} cannot be created: permission denied "
                          f"({e.filename or path})") from e
  if not os.access(path, os.W_OK | os.X_OK):
    raise PermissionError(f"{what} {path} is not writable (permission denied)")
  return path


class DirectoryInUseError(RuntimeError):
  """Another live process holds the lock of a directory."""


class DirectoryLock:
  """One writer per directory at a time.

  The lock is an ``flock`` on a lock file that holds the owner's PID. The
  kernel releases an ``flock`` when its process dies, kill -9 included, so a
  lock file left by a dead process is taken over (with a message naming that
  process), while a live owner makes `acquire` fail naming its PID. The
  owner removes the file on release, still holding the lock; a process that
  locked the file just before it was removed sees that it is gone and tries
  again, so two processes never hold two files of the same name.

  Usage:
    with DirectoryLock(os.path.join(workdir, ".lock"), f"workdir {workdir}"):
      ...  # The only writer of workdir.
  """

  def __init__(self, lock_path: str, what: str):
    """Args:
      lock_path: the lock file (its directory is created).
      what: names the locked thing in messages, e.g. ``workdir /tmp/run``.
    """
    self.lock_path = os.path.abspath(lock_path)
    self.what = what
    self._fd: int | None = None

  def acquire(self) -> "DirectoryLock":
    """Takes the lock.

    Raises:
      DirectoryInUseError: a live process holds it (the message gives its PID).
    """
    if self._fd is not None:
      raise RuntimeError(f"the lock of {self.what} is already held by this object")
    make_dirs(os.path.dirname(self.lock_path), "directory")
    while True:
      fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
      try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
      except BlockingIOError:
        owner = _read_owner(fd)
        os.close(fd)
        raise DirectoryInUseError(
            f"{self.what} is in use by another process (PID {owner or 'unknown'}, lock "
            f"file {self.lock_path}); wait for it to finish or stop it, or use another "
            "directory") from None
      try:
        same = os.path.samestat(os.fstat(fd), os.stat(self.lock_path))
      except FileNotFoundError:
        same = False
      if same:
        break
      os.close(fd)  # Its owner removed it as we locked it: lock the new one.
    previous = _read_owner(fd)
    if previous and previous != os.getpid():
      message = (f"Taking over the lock of {self.what} from process {previous}, which ended "
                 "without releasing it")
      logging.warning(message)
      print(message, flush=True)
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    os.fsync(fd)
    self._fd = fd
    return self

  def release(self) -> None:
    if self._fd is None:
      return
    try:
      os.remove(self.lock_path)
    except FileNotFoundError:
      pass
    finally:
      fcntl.flock(self._fd, fcntl.LOCK_UN)
      os.close(self._fd)
      self._fd = None

  def __enter__(self) -> "DirectoryLock":
    return self.acquire()

  def __exit__(self, *exc_info) -> None:
    self.release()


def _read_owner(fd: int) -> int | None:
  try:
    text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
    return int(text) if text else None
  except (OSError, ValueError):
    return None
