"""`episode_success`: did the current episode succeed, through any wrappers."""

from __future__ import annotations

from typing import Any, Iterator

# Attributes under which wrappers (ours, Acme's, gymnasium's) keep the
# environment they wrap.
_INNER_ATTRIBUTES = ("environment", "_environment", "gym_env", "env")


def iter_wrapped(env: Any) -> Iterator[Any]:
  """Yields ``env``, the environment it wraps, that one's, and so on."""
  seen = set()
  while env is not None and id(env) not in seen:
    seen.add(id(env))
    yield env
    env = next((getattr(env, a) for a in _INNER_ATTRIBUTES
                if getattr(env, a, None) is not None), None)


def episode_success(env: Any) -> bool | None:
  """Whether the current episode of ``env`` has succeeded.

  Environments of this package expose a ``success`` property: `TwoRoutes`
  (goal reached) and `GymnasiumWrapper` over tasks that report
  ``info["success"]`` (PointMaze). This reads the first ``success`` found
  while unwrapping ``env``.

  Args:
    env: an environment, possibly wrapped.

  Returns:
    True once the current episode has succeeded, False before that, None for
    tasks with no notion of success.
  """
  for inner in iter_wrapped(env):
    if (hasattr(type(inner), "success")
        or "success" in getattr(inner, "__dict__", {})):
      value = inner.success
      return None if value is None else bool(value)
  return None
