"""Shared types: observation/action descriptions, transitions, and aliases.

Conventions used across the library:
  * Observations are always dicts `{key: array}`; a single-array observation
    is stored under the key ``"state"``. An optional integer task id travels
    in the observation dict under ``TASK_ID_KEY``.
  * Actions have shape ``ShapeMeta.action_shape``: ``(A,)`` for single
    actions, ``(H, A)`` for chunks of ``H`` actions. Inside the library they
    are normalized to ``[-1, 1]``; `Normalizer` maps them back.
  * A batch is a `Transition` whose leaves carry a leading batch axis.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

PRNGKey = jax.Array
Params = Any
Observation = Mapping[str, jax.Array]

TASK_ID_KEY = "task_id"
LOW_DIM = "low_dim"
RGB = "rgb"
OBS_TYPES = (LOW_DIM, RGB)


@dataclasses.dataclass(frozen=True)
class ObsSpec:
  """One observation entry.

  Attributes:
    shape: per-step shape, without batch axes.
    type: ``"low_dim"`` (a float vector) or ``"rgb"`` (an ``[H, W, C]`` uint8
      image).
  """
  shape: tuple[int, ...]
  type: str = LOW_DIM

  def __post_init__(self):
    shape = self.shape
    # Strings are sequences and 2.5 would become 2: only ints are sizes.
    if not isinstance(shape, (tuple, list, np.ndarray)) or any(
        isinstance(s, (bool, np.bool_)) or not isinstance(s, numbers.Integral) for s in shape):
      raise ValueError(f"observation shape must be a sequence of ints; got {shape!r}")
    object.__setattr__(self, "shape", tuple(int(s) for s in shape))
    if not isinstance(self.type, str) or self.type not in OBS_TYPES:
      raise ValueError(
          f"observation type={self.type!r} is unknown; choose one of: "
          f"{', '.join(OBS_TYPES)}")
    if self.type == RGB and len(self.shape) != 3:
      raise ValueError(
          f"an rgb observation needs shape (height, width, channels); "
          f"got {self.shape}")
    if any(s <= 0 for s in self.shape):
      raise ValueError(f"observation shape {self.shape} has a non-positive size")


@dataclasses.dataclass(frozen=True)
class Normalizer:
  """Maps observations and actions between environment units and the
  normalized units the networks see.

  Low-dim observations are standardized, ``(x - mean) / std``; rgb
  observations are left as uint8 (the image encoder scales them). Actions are
  mapped affinely from ``[low, high]`` to ``[-1, 1]``.

  Attributes:
    obs_mean: per low-dim key, the mean (same shape as the observation).
    obs_std: per low-dim key, the std (floored to avoid division by ~0).
    action_low: per-dimension lower bound, shape ``(A,)``.
    action_high: per-dimension upper bound, shape ``(A,)``.
  """
  obs_mean: Mapping[str, np.ndarray]
  obs_std: Mapping[str, np.ndarray]
  action_low: np.ndarray
  action_high: np.ndarray

  def normalize_observation(self, obs: Observation) -> dict[str, jax.Array]:
    out = dict(obs)
    for key, mean in self.obs_mean.items():
      if key in obs:
        out[key] = (jnp.asarray(obs[key], jnp.float32) - mean) / self.obs_std[key]
    return out

  def unnormalize_observation(self, obs: Observation) -> dict[str, jax.Array]:
    out = dict(obs)
    for key, mean in self.obs_mean.items():
      if key in obs:
        out[key] = jnp.asarray(obs[key]) * self.obs_std[key] + mean
    return out

  def normalize_action(self, action: jax.Array) -> jax.Array:
    low, high = self._bounds()
    return 2.0 * (jnp.asarray(action, jnp.float32) - low) / (high - low) - 1.0

  def unnormalize_action(self, action: jax.Array) -> jax.Array:
    low, high = self._bounds()
    return (jnp.asarray(action) + 1.0) * 0.5 * (high - low) + low

  def _bounds(self):
    low = np.asarray(self.action_low, np.float32)
    high = np.asarray(self.action_high, np.float32)
    # A dimension that never varied in the data still gets a finite map.
    high = np.where(high - low < 1e-6, low + 1e-6, high)
    return low, high

  def to_dict(self) -> dict[str, Any]:
    return {
        "obs_mean": {k: np.asarray(v).tolist() for k, v in self.obs_mean.items()},
        "obs_std": {k: np.asarray(v).tolist() for k, v in self.obs_std.items()},
        "action_low": np.asarray(self.action_low).tolist(),
        "action_high": np.asarray(self.action_high).tolist(),
    }

  @classmethod
  def from_dict(cls, d: Mapping[str, Any]) -> "Normalizer":
    """The inverse of `to_dict`; raises a ValueError naming a missing or
    non-numeric entry."""
    if not isinstance(d, Mapping):
      raise TypeError(f"normalizer must be a Normalizer or a dict; got {type(d).__name__}")
    fields = ("obs_mean", "obs_std", "action_low", "action_high")
    missing = [f for f in fields if f not in d]
    unknown = sorted(set(d) - set(fields), key=repr)
    if missing or unknown:
      raise ValueError(f"normalizer has missing keys {missing} / unknown keys {unknown}; "
                       f"expected keys: {', '.join(fields)}")
    out = {}
    for name in fields:
      if name.startswith("obs_"):
        if not isinstance(d[name], Mapping):
          raise TypeError(f"normalizer.{name} must be a dict of observation key -> "
                          f"array; got {type(d[name]).__name__}")
        out[name] = {k: _float_array(v, f"normalizer.{name}[{k!r}]")
                     for k, v in d[name].items()}
      else:
        out[name] = _float_array(d[name], f"normalizer.{name}")
    return cls(**out)

  def validate(self, observations: Mapping[str, "ObsSpec"], action_dim: int) -> None:
    """Raises ValueError unless the statistics fit these observations and
    actions (finite, positive std, ``action_low <= action_high``)."""
    for name in ("obs_mean", "obs_std"):
      stats = getattr(self, name)
      if not isinstance(stats, Mapping):
        raise TypeError(f"normalizer.{name} must be a dict; got {type(stats).__name__}")
      for key, value in stats.items():
        spec = observations.get(key) if isinstance(key, str) else None
        if spec is None or spec.type != LOW_DIM:
          raise ValueError(f"normalizer.{name} has key {key!r}, which is not a low_dim "
                           f"observation key (those are: "
                           f"{sorted(k for k, s in observations.items() if s.type == LOW_DIM)})")
        value = _float_array(value, f"normalizer.{name}[{key!r}]")
        if value.shape != spec.shape:
          raise ValueError(f"normalizer.{name}[{key!r}] has shape {value.shape}; expected "
                           f"{spec.shape}")
        if name == "obs_std" and not np.all(value > 0):
          raise ValueError(f"normalizer.obs_std[{key!r}] must be > 0 everywhere")
    if set(self.obs_mean) != set(self.obs_std):
      raise ValueError(f"normalizer.obs_mean keys {sorted(self.obs_mean)} and obs_std keys "
                       f"{sorted(self.obs_std)} differ")
    for name in ("action_low", "action_high"):
      value = _float_array(getattr(self, name), f"normalizer.{name}")
      if value.shape != (action_dim,):
        raise ValueError(f"normalizer.{name} has shape {value.shape}; expected "
                         f"({action_dim},) (action_dim)")
    if not np.all(np.asarray(self.action_low) <= np.asarray(self.action_high)):
      raise ValueError(f"normalizer.action_low must be <= action_high; got "
                       f"{np.asarray(self.action_low).tolist()} > "
                       f"{np.asarray(self.action_high).tolist()}")


def _float_array(value: Any, what: str) -> np.ndarray:
  """``value`` as a finite float32 array; a ValueError naming ``what`` if not."""
  try:
    with np.errstate(over="ignore"):  # 1e39 becomes inf, refused below.
      array = np.asarray(value, np.float32)
  except (TypeError, ValueError) as e:
    raise ValueError(f"{what} must be an array of numbers; got {value!r}") from e
  if not np.all(np.isfinite(array)):
    raise ValueError(f"{what} holds NaN or Inf")
  return array


@dataclasses.dataclass(frozen=True)
class ShapeMeta:
  """What a policy or critic needs to know about the data.

  Attributes:
    observations: every observation key and its `ObsSpec` (the task id is not
      listed here; see ``num_tasks``).
    action_dim: size of one action.
    action_horizon: number of actions in a chunk; 1 means single actions.
    num_tasks: number of task ids (observation key ``"task_id"``); 0 means
      the data carries no task id.
    normalizer: statistics that map environment units to network units;
      None when the data is used as is.
  """
  observations: Mapping[str, ObsSpec]
  action_dim: int
  action_horizon: int = 1
  num_tasks: int = 0
  normalizer: Normalizer | None = None

  def __post_init__(self):
    if not isinstance(self.observations, Mapping):
      raise TypeError("shape_meta.observations must be a dict of key -> ObsSpec (or "
                      f"{{'shape': ..., 'type': ...}}); got {type(self.observations).__name__}")
    if not self.observations:
      raise ValueError("shape_meta.observations is empty: name at least one observation key")
    obs = {}
    for key, spec in self.observations.items():
      if not isinstance(key, str) or not key:
        raise ValueError(f"shape_meta.observations keys must be non-empty strings; got {key!r}")
      if key == TASK_ID_KEY:
        raise ValueError(
            f"observation key {TASK_ID_KEY!r} is reserved for the task id; "
            "set num_tasks instead")
      obs[key] = _obs_spec(key, spec)
    object.__setattr__(self, "observations", obs)
    for name in ("action_dim", "action_horizon"):
      value = getattr(self, name)
      if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"shape_meta.{name} must be an int >= 1; got {value!r}")
    if (isinstance(self.num_tasks, (bool, np.bool_))
        or not isinstance(self.num_tasks, numbers.Integral) or self.num_tasks < 0):
      raise ValueError(f"shape_meta.num_tasks must be an int >= 0; got {self.num_tasks!r}")
    norm = self.normalizer
    if isinstance(norm, Mapping):
      norm = Normalizer.from_dict(norm)
      object.__setattr__(self, "normalizer", norm)
    if norm is not None:
      if not isinstance(norm, Normalizer):
        raise TypeError(f"shape_meta.normalizer must be a Normalizer, its dict form or None; "
                        f"got {type(norm).__name__}")
      norm.validate(obs, int(self.action_dim))

  @property
  def action_shape(self) -> tuple[int, ...]:
    if self.action_horizon == 1:
      return (self.action_dim,)
    return (self.action_horizon, self.action_dim)

  @property
  def flat_action_dim(self) -> int:
    return self.action_dim * self.action_horizon

  def dummy_observation(self, batch_size: int = 1) -> dict[str, np.ndarray]:
    """A batch of zero observations with the right shapes and dtypes."""
    obs = {}
    for key, spec in self.observations.items():
      dtype = np.uint8 if spec.type == RGB else np.float32
      obs[key] = np.zeros((batch_size, *spec.shape), dtype)
    if self.num_tasks:
      obs[TASK_ID_KEY] = np.zeros((batch_size,), np.int32)
    return obs

  def dummy_action(self, batch_size: int = 1) -> np.ndarray:
    return np.zeros((batch_size, *self.action_shape), np.float32)

  def to_dict(self) -> dict[str, Any]:
    return {
        "observations": {k: {"shape": list(v.shape), "type": v.type}
                         for k, v in self.observations.items()},
        "action_dim": self.action_dim,
        "action_horizon": self.action_horizon,
        "num_tasks": self.num_tasks,
        "normalizer": None if self.normalizer is None else self.normalizer.to_dict(),
    }

  @classmethod
  def from_dict(cls, d: Mapping[str, Any]) -> "ShapeMeta":
    """Builds a ShapeMeta from a plain dict (the form `to_dict` writes)."""
    if isinstance(d, ShapeMeta):
      return d
    if not isinstance(d, Mapping):
      raise TypeError(f"shape_meta must be a ShapeMeta or a dict; got {type(d).__name__}")
    valid = {f.name for f in dataclasses.fields(cls)}
    unknown = set(d) - valid
    if unknown:
      raise ValueError(f"shape_meta has unknown keys {sorted(unknown)}; "
                       f"valid keys: {', '.join(sorted(valid))}")
    missing = {"observations", "action_dim"} - set(d)
    if missing:
      raise ValueError(f"shape_meta is missing {sorted(missing)}")
    return cls(
        observations=d["observations"],
        action_dim=d["action_dim"],
        action_horizon=d.get("action_horizon", 1),
        num_tasks=d.get("num_tasks", 0),
        normalizer=d.get("normalizer"))


def _obs_spec(key: str, spec: Any) -> ObsSpec:
  """An `ObsSpec` from an ObsSpec or its dict form; errors name the key."""
  if isinstance(spec, ObsSpec):
    return spec
  if not isinstance(spec, Mapping):
    raise TypeError(f"shape_meta.observations[{key!r}] must be an ObsSpec or a dict "
                    f"{{'shape': ..., 'type': ...}}; got {type(spec).__name__}")
  valid = [f.name for f in dataclasses.fields(ObsSpec)]
  unknown = sorted(set(spec) - set(valid), key=repr)
  if unknown or "shape" not in spec:
    raise ValueError(f"shape_meta.observations[{key!r}] has unknown keys {unknown} or no "
                     f"'shape'; valid keys: {', '.join(valid)}")
  try:
    return ObsSpec(**spec)
  except (TypeError, ValueError) as e:
    raise type(e)(f"shape_meta.observations[{key!r}]: {e}") from e


class Transition(NamedTuple):
  """A batch of (n-step, possibly chunked) transitions.

  Attributes:
    observation: o_tm1, dict of arrays ``[B, ...]``.
    action: a_tm1 (a chunk when action_horizon > 1), ``[B, *action_shape]``,
      normalized to [-1, 1].
    reward: r_t, the n-step discounted reward sum ``[B]``.
    discount: the bootstrap multiplier ``gamma**n * prod(env discounts)``,
      ``[B]``; 0 where the episode truly terminated inside the window.
    next_observation: o_t, the observation n steps later.
    mc_return: Monte-Carlo discounted return from o_tm1 to the episode end
      ``[B]`` (Cal-QL's lower bound); a time-limited episode with one reward
      ``r`` throughout (a sparse goal never reached) has ``r / (1 - gamma)``.
  """
  observation: Observation
  action: jax.Array
  reward: jax.Array
  discount: jax.Array
  next_observation: Observation
  mc_return: jax.Array

  def __getitem__(self, key):
    """``batch.observation``, also as ``batch["observation"]`` and under the
    keys jaxrl and the PA-RL reference code use (``batch["observations"]``,
    ``"actions"``, ``"rewards"``, ``"next_observations"``); integers and
    slices index the tuple as usual."""
    if not isinstance(key, str):
      return tuple.__getitem__(self, key)
    field = _TRANSITION_KEYS.get(key)
    if field is None:
      hint = _NOT_TRANSITION_KEYS.get(key, "")
      raise KeyError(f"Transition has no key {key!r}{hint}; its fields are "
                     f"{', '.join(self._fields)} (also readable as "
                     f"{', '.join(sorted(k for k in _TRANSITION_KEYS if k not in self._fields))})")
    return getattr(self, field)


_TRANSITION_KEYS = {
    **{f: f for f in Transition._fields},
    "observations": "observation", "actions": "action", "rewards": "reward",
    "next_observations": "next_observation", "mc_returns": "mc_return",
}
_NOT_TRANSITION_KEYS = {
    key: (": use batch.discount, the bootstrap multiplier gamma**n * prod(env "
          "discounts), 0 where the episode terminated (jaxrl's masks times gamma**n)")
    for key in ("masks", "dones", "terminals", "discounts")
}


def as_shape_meta(shape_meta: ShapeMeta | Mapping[str, Any]) -> ShapeMeta:
  """Accepts a ShapeMeta or its dict form."""
  return ShapeMeta.from_dict(shape_meta)
