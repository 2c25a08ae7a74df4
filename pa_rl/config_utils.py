"""Dataclass configs from ``None``, a partial dict or a config instance."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, TypeVar

C = TypeVar("C")


def make_config(cls: type[C], config: C | Mapping[str, Any] | None, *,
                where: str = "config") -> C:
  """Returns ``cls`` built from defaults overridden by ``config``.

  Args:
    cls: a dataclass type whose fields all have defaults.
    config: None (all defaults), an instance of ``cls``, or a dict naming a
      subset of the fields.
    where: how the error messages name this config.

  Raises:
    ValueError: a key in ``config`` is not a field of ``cls``; the message
      lists the valid keys.
    TypeError: ``config`` is neither None, a dict nor a ``cls``.
  """
  if config is None:
    return cls()
  if isinstance(config, cls):
    return config
  if dataclasses.is_dataclass(config) and not isinstance(config, type):
    config = dataclasses.asdict(config)
  if not isinstance(config, Mapping):
    raise TypeError(f"{where} must be None, a dict or a {cls.__name__}; "
                    f"got {type(config).__name__}")
  valid = [f.name for f in dataclasses.fields(cls)]
  unknown = sorted(set(config) - set(valid))
  if unknown:
    raise ValueError(f"{where} has unknown keys {unknown} for {cls.__name__}; "
                     f"valid keys: {', '.join(valid)}")
  return cls(**config)


def check_positive(config: Any, *names: str, allow_zero: bool = False) -> None:
  """Raises ValueError naming the first field of ``config`` that is not > 0."""
  for name in names:
    value = getattr(config, name)
    ok = value >= 0 if allow_zero else value > 0
    if not ok:
      bound = ">= 0" if allow_zero else "> 0"
      raise ValueError(f"{type(config).__name__}.{name} must be {bound}; got {value!r}")
