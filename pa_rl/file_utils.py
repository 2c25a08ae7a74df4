"""Writing files atomically: a crash never leaves a half-written file under
its final name (write to a unique temporary name beside it, fsync, rename)."""

from __future__ import annotations

import json
import os
import uuid
from typing import Any


def write_text_atomic(path: str, text: str) -> str:
  """Writes ``text`` to ``path`` atomically; returns ``path``."""
  tmp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
  try:
    with open(tmp, "w") as f:
      f.write(text)
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)
  return path


def write_json_atomic(path: str, obj: Any, **dump_kwargs) -> str:
  """Writes ``obj`` as JSON (``json.dumps(obj, indent=1, **dump_kwargs)``)
  to ``path`` atomically; returns ``path``."""
  return write_text_atomic(path, json.dumps(obj, **{"indent": 1, **dump_kwargs}))
