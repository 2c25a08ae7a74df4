"""Dataclass configs from ``None``, a partial dict or a config instance."""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any, Mapping, TypeVar

import numpy as np

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
  # Sorted by repr: a non-string key must not make the error itself fail.
  unknown = sorted(set(config) - set(valid), key=repr)
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


def _fail(config: Any, name: str, requirement: str) -> None:
  value = getattr(config, name)
  raise ValueError(f"{type(config).__name__}.{name} must be {requirement}; got {value!r}")


def check_int(config: Any, name: str, minimum: int) -> None:
  """Raises ValueError unless field ``name`` is an int >= ``minimum`` (bools,
  floats and strings are refused: ``2.5`` must not become ``2``)."""
  value = getattr(config, name)
  if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
      or value < minimum):
    _fail(config, name, f"an int >= {minimum}")


def check_number(config: Any, name: str, low: float = -math.inf, high: float = math.inf,
                 *, low_open: bool = False, high_open: bool = False) -> None:
  """Raises ValueError unless field ``name`` is a finite real number in the
  interval (NaN, infinities, bools and strings are refused)."""
  value = getattr(config, name)
  ok = (isinstance(value, numbers.Real) and not isinstance(value, bool)
        and math.isfinite(value))
  if ok:
    ok = (value > low if low_open else value >= low) and (
        value < high if high_open else value <= high)
  if not ok:
    if low == -math.inf and high == math.inf:
      requirement = "a finite number"
    elif high == math.inf:
      requirement = f"{'>' if low_open else '>='} {low} (and finite)"
    elif low == -math.inf:
      requirement = f"{'<' if high_open else '<='} {high} (and finite)"
    else:
      requirement = (f"in {'(' if low_open else '['}{low}, {high}"
                     f"{')' if high_open else ']'}")
    _fail(config, name, requirement)


def check_bool(config: Any, name: str) -> None:
  """Raises TypeError unless field ``name`` is a bool (``"no"`` is truthy)."""
  value = getattr(config, name)
  if not isinstance(value, (bool, np.bool_)):
    raise TypeError(f"{type(config).__name__}.{name} must be a bool; got {value!r}")


def check_choice(config: Any, name: str, choices: tuple[str, ...]) -> None:
  """Raises ValueError unless field ``name`` is one of ``choices``."""
  value = getattr(config, name)
  if not isinstance(value, str) or value not in choices:
    raise ValueError(f"{type(config).__name__}.{name}={value!r} is unknown; choose one "
                     f"of: {', '.join(choices)}")

