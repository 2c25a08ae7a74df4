"""Small synthetic RLDS episodes and datasets for tests."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import rlds

from pa_rl import types
from pa_rl.datasets import rlds_io

DEFAULT_SPEC = {"state": types.ObsSpec((3,))}


def make_episode(length: int, *, observation_spec: Mapping[str, types.ObsSpec] = None,
                 action_dim: int = 2, terminal: bool = True, seed: int = 0) -> dict:
  """One RLDS episode with ``length`` transitions (``length + 1`` steps)."""
  observation_spec = observation_spec or DEFAULT_SPEC
  rng = np.random.default_rng(seed)
  num = length + 1
  obs = {}
  for key, spec in observation_spec.items():
    if spec.type == types.RGB:
      obs[key] = rng.integers(0, 256, (num, *spec.shape), dtype=np.uint8)
    else:
      obs[key] = rng.normal(size=(num, *spec.shape)).astype(np.float32)
  actions = rng.uniform(-1, 1, (num, action_dim)).astype(np.float32)
  actions[-1] = 0.0
  rewards = rng.normal(size=num).astype(np.float32)
  rewards[-1] = 0.0
  discounts = np.ones(num, np.float32)
  if terminal:
    discounts[-2] = 0.0
  discounts[-1] = 0.0
  idx = np.arange(num)
  return {
      rlds.OBSERVATION: obs, rlds.ACTION: actions, rlds.REWARD: rewards,
      rlds.DISCOUNT: discounts, rlds.IS_FIRST: idx == 0, rlds.IS_LAST: idx == num - 1,
      rlds.IS_TERMINAL: (idx == num - 1) & terminal,
  }


def write_dataset(path: str, lengths: Sequence[int] = (5, 7, 4), *,
                  observation_spec: Mapping[str, types.ObsSpec] = None, action_dim: int = 2,
                  seed: int = 0, task_id: int = 0) -> list[dict]:
  """Writes an RLDS dataset of random episodes; returns their step fields."""
  observation_spec = observation_spec or DEFAULT_SPEC
  episodes = [make_episode(n, observation_spec=observation_spec, action_dim=action_dim,
                           terminal=i % 2 == 0, seed=seed + i)
              for i, n in enumerate(lengths)]
  with rlds_io.RLDSWriter(path, observation_spec, action_dim, -np.ones(action_dim),
                          np.ones(action_dim), env_name="fake") as writer:
    for episode in episodes:
      writer.add_episode(episode, {"task_id": task_id, "policy": "random"})
  return episodes
