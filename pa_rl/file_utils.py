"""Writing files atomically: a crash never leaves a half-written file under
its final name (write to a unique hidden temporary name beside it, fsync,
rename)."""

from __future__ import annotations

import json
import os
import uuid
from typing import IO, Any, Callable


def write_atomic(path: str, write: Callable[[IO], None], binary: bool = False) -> str:
  """Calls ``write(f)`` on a temporary file, then renames it to ``path``.

  Creates the parent directory if needed; returns ``path``.
  """
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  tmp = os.path.join(directory, f".{os.path.basename(path)}.tmp-{uuid.uuid4().hex[:8]}")
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
