"""Shared pieces of the bad-input fuzz suite: settings, bad-value strategies
and the one assertion every property makes.

Generated bad inputs per CI run (each module's docstring has its share):
  test_fuzz_configs.py       550  (shape_meta 150, network configs 150,
                                   agent configs 150, action optimization 100)
  test_fuzz_agent_inputs.py  300  (act observations 150, update batches 150)
  test_fuzz_datasets.py      150  (damaged directories 100, load arguments 50)
  test_fuzz_gin.py           150  (gin bindings)
  total                    1,250
"""

from __future__ import annotations

import math
import os
from typing import Any, Callable, Sequence

import hypothesis
from hypothesis import strategies as st
import pytest

import pa_rl

PACKAGE_DIR = os.path.dirname(os.path.abspath(pa_rl.__file__))


def fuzz_settings(max_examples: int) -> hypothesis.settings:
  """Deterministic (CI reruns the same cases), no deadline (the first call of
  a property may import or build things), no example database.

  ``PA_RL_FUZZ_SCALE=k`` runs k times as many cases (a longer local hunt).
  """
  max_examples *= int(os.environ.get("PA_RL_FUZZ_SCALE", "1"))
  return hypothesis.settings(max_examples=max_examples, deadline=None, derandomize=True,
                             database=None, suppress_health_check=list(hypothesis.HealthCheck))


def assert_rejected(call: Callable[[], Any], names: Sequence[str],
                    errors: tuple[type, ...] = (ValueError, TypeError)) -> BaseException:
  """``call()`` raises one of ``errors``, from pa_rl's own code (not deep inside
  jax, haiku or numpy), with a message that mentions one of ``names``."""
  with pytest.raises(errors) as info:
    call()
  message = str(info.value)
  assert any(str(n) in message for n in names), (
      f"{type(info.value).__name__} message does not name any of {list(names)}: {message}")
  raised_in = str(info.traceback[-1].path)
  # Where the error was raised: the library's validation, not a third party.
  assert raised_in.startswith(PACKAGE_DIR) or "gin" in raised_in, (
      f"{type(info.value).__name__} raised in {raised_in}, outside pa_rl: {message}")
  return info.value


# ---------------------------------------------------------------------------
# Bad values by the kind of field they are thrown at.

_JUNK = st.one_of(st.none(), st.text(max_size=6), st.lists(st.integers(-3, 3), max_size=3),
                  st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
_NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf])


def bad_int(minimum: int, *, none_ok: bool = False) -> st.SearchStrategy:
  """Not an int >= minimum: too small, a float (even 3.0), a bool, junk."""
  junk = _JUNK.filter(lambda v: v is not None) if none_ok else _JUNK
  return st.one_of(st.integers(max_value=minimum - 1), st.floats(allow_nan=True),
                   st.booleans(), junk)


def bad_number(low: float = -math.inf, high: float = math.inf, *, low_open: bool = False,
               high_open: bool = False) -> st.SearchStrategy:
  """Not a finite number in the interval."""
  outside = []
  if low > -math.inf:
    outside.append(st.floats(max_value=low, exclude_max=not low_open, allow_nan=False))
  if high < math.inf:
    outside.append(st.floats(min_value=high, exclude_min=not high_open, allow_nan=False))
  return st.one_of(*outside, _NON_FINITE, st.booleans(), _JUNK)


def bad_choice(choices: Sequence[str]) -> st.SearchStrategy:
  return st.one_of(st.text(max_size=8).filter(lambda s: s not in choices),
                   st.integers(), st.none(), st.lists(st.sampled_from(list(choices)),
                                                      min_size=1, max_size=2))


def bad_bool() -> st.SearchStrategy:
  """Truthy or falsy, but not a bool: ``"no"`` must not turn a flag on."""
  return st.one_of(st.integers(), st.floats(), st.text(max_size=4), st.none())


def bad_sizes() -> st.SearchStrategy:
  """Not a non-empty sequence of positive ints."""
  bad_element = st.one_of(st.integers(max_value=0), st.floats(), st.booleans(),
                          st.text(max_size=3))
  return st.one_of(
      st.just(()), st.just([]),
      st.lists(st.integers(1, 8), max_size=2).flatmap(
          lambda good: bad_element.map(lambda b: tuple(good) + (b,))),
      st.text(min_size=1, max_size=4), st.integers(), st.none(), st.floats())


def bad_finite() -> st.SearchStrategy:
  return st.one_of(_NON_FINITE, st.booleans(), _JUNK)


def identifier(exclude: Sequence[str] = ()) -> st.SearchStrategy:
  """A plain name (so the message's repr of it contains it verbatim)."""
  return st.from_regex(r"\A[a-z][a-z0-9_]{0,11}\Z").filter(lambda s: s not in exclude)


def bad_value(kind: tuple) -> st.SearchStrategy:
  """A bad value for a field described by ``kind`` (see the config tables)."""
  name, *args = kind
  return {"int": lambda: bad_int(*args), "opt_int": lambda: bad_int(*args, none_ok=True),
          "number": lambda: bad_number(*args[:2], low_open=args[2], high_open=args[3]),
          "choice": lambda: bad_choice(*args), "bool": bad_bool, "sizes": bad_sizes,
          "finite": bad_finite}[name]()


INF = math.inf


def INT(m):  # pylint: disable=invalid-name
  return ("int", m)


def NUM(low=-INF, high=INF, low_open=False, high_open=False):  # pylint: disable=invalid-name
  return ("number", low, high, low_open, high_open)
