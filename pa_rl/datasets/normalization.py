"""Normalization statistics computed from a dataset."""

from __future__ import annotations

from typing import Mapping

import numpy as np

from pa_rl import types


def compute_normalizer(observations: Mapping[str, np.ndarray],
                       specs: Mapping[str, types.ObsSpec], actions: np.ndarray,
                       action_rows: np.ndarray, *, action_low=None,
                       action_high=None) -> types.Normalizer:
  """Statistics for `types.Normalizer`.

  Args:
    observations: step-level observation arrays ``[S, ...]``.
    specs: the observation specs (only ``low_dim`` keys are standardized).
    actions: step-level actions ``[S, A]``.
    action_rows: the steps whose actions are real (RLDS final steps carry a
      placeholder action that must not widen the bounds).
    action_low, action_high: the environment's action bounds; when missing or
      infinite, the data's own min/max is used.
  """
  mean, std = {}, {}
  for key, spec in specs.items():
    if spec.type != types.LOW_DIM:
      continue
    value = np.asarray(observations[key], np.float64)
    mean[key] = value.mean(axis=0).astype(np.float32)
    s = value.std(axis=0)
    # A feature that never varies keeps its scale instead of dividing by ~0.
    std[key] = np.where(s < 1e-6, 1.0, s).astype(np.float32)
  real = np.asarray(actions)[np.unique(action_rows)]
  low = real.min(axis=0)
  high = real.max(axis=0)
  if action_low is not None and action_high is not None:
    env_low = np.asarray(action_low, np.float32).reshape(-1)
    env_high = np.asarray(action_high, np.float32).reshape(-1)
    if env_low.shape == low.shape and np.all(np.isfinite(env_low)) and np.all(np.isfinite(env_high)):
      low, high = env_low, env_high
  return types.Normalizer(obs_mean=mean, obs_std=std,
                          action_low=np.asarray(low, np.float32),
                          action_high=np.asarray(high, np.float32))
