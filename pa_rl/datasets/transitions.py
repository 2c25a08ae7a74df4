"""RLDS episodes -> flat step arrays and transition index tables (numpy).

Everything here runs once, at load time. The result is a `TransitionTable`:
step-level arrays (observations, actions) plus, per transition, the indices
of its first observation, the observation n steps later and its action chunk,
and its n-step reward, bootstrap discount and Monte-Carlo return. Sampling a
batch is then a handful of gathers (see `offline.py`), and images are stored
once, not twice.

Definitions for step t of an episode with T steps (the last step holds only
the final observation), gamma the discount factor and d the environment
discounts:
  * n-step reward  R_t = sum_{i<m} gamma^i (prod_{j<i} d_{t+j}) r_{t+i}
  * discount       D_t = gamma^m prod_{j<m} d_{t+j},  m = min(n, T-1-t)
  * next index     t + m
  * action chunk   a_{t}, ..., a_{t+H-1}, past the last action repeating it
  * MC return      G_t = r_t + gamma d_t G_{t+1},  G_{T-1} = 0
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Sequence

import numpy as np
import rlds

from pa_rl import types


@dataclasses.dataclass
class TransitionTable:
  """Flat arrays describing every transition of a set of episodes.

  Attributes:
    observations: step-level observation arrays ``[S, ...]`` per key (a
      ``task_id`` key when the episodes carry task ids).
    actions: step-level actions ``[S, A]`` (zeros on final steps).
    obs_index: ``[N]`` step index of o_tm1 for each transition.
    next_index: ``[N]`` step index of o_t (n steps later).
    chunk_index: ``[N, H]`` step indices of the action chunk.
    reward: ``[N]`` n-step reward.
    discount: ``[N]`` bootstrap multiplier.
    mc_return: ``[N]`` Monte-Carlo return from o_tm1 (``r / (1 - gamma)`` in
      a time-limited episode whose every reward is ``r``).
    episode_starts: ``[E]`` step index of each episode's first step.
  """
  observations: dict[str, np.ndarray]
  actions: np.ndarray
  obs_index: np.ndarray
  next_index: np.ndarray
  chunk_index: np.ndarray
  reward: np.ndarray
  discount: np.ndarray
  mc_return: np.ndarray
  episode_starts: np.ndarray

  @property
  def num_transitions(self) -> int:
    return len(self.obs_index)


def episode_indices(rewards: np.ndarray, discounts: np.ndarray, *, gamma: float,
                    n_step: int, horizon: int) -> dict[str, np.ndarray]:
  """Transition tables of one episode, indices relative to its first step.

  Args:
    rewards: ``[T]`` RLDS rewards (the last entry is ignored).
    discounts: ``[T]`` RLDS discounts (the last entry is ignored).
    gamma: the discount factor.
    n_step: steps per TD backup.
    horizon: action chunk length H.
  """
  num_steps = len(rewards)
  num_transitions = num_steps - 1
  r = np.asarray(rewards[:num_transitions], np.float64)
  d = np.asarray(discounts[:num_transitions], np.float64)
  t = np.arange(num_transitions)
  m = np.minimum(n_step, num_transitions - t)
  n_reward = np.zeros(num_transitions)
  n_discount = np.ones(num_transitions)
  for i in range(n_step):  # n_step is small; vectorized over t.
    valid = i < m
    idx = np.minimum(t + i, num_transitions - 1)
    n_reward += np.where(valid, n_discount * r[idx], 0.0)
    n_discount = np.where(valid, n_discount * gamma * d[idx], n_discount)
  mc = np.zeros(num_steps)
  for i in range(num_transitions - 1, -1, -1):
    mc[i] = r[i] + gamma * d[i] * mc[i + 1]
  if (num_transitions and gamma < 1 and np.all(d > 0) and np.all(r == r[0])):
    # Cut by the time limit with one reward throughout (a sparse-reward episode
    # that never reached its goal): its return goes on past the cut, so every
    # state's is r / (1 - gamma), as Cal-QL takes it, not a sum with a zero tail
    # (which would lift Cal-QL's lower bound toward 0 near the cut).
    mc[:] = r[0] / (1 - gamma)
  chunk = np.minimum(t[:, None] + np.arange(horizon)[None, :], num_transitions - 1)
  return {
      "obs_index": t, "next_index": t + m, "chunk_index": chunk,
      "reward": n_reward.astype(np.float32), "discount": n_discount.astype(np.float32),
      "mc_return": mc[:num_transitions].astype(np.float32),
  }


def observation_dict(observation: Any) -> dict[str, np.ndarray]:
  """RLDS observations may be a bare tensor; the library always uses dicts."""
  if isinstance(observation, Mapping):
    return {k: np.asarray(v) for k, v in observation.items()}
  return {"state": np.asarray(observation)}


def build_table(episodes: Sequence[Mapping[str, Any]], *, gamma: float, n_step: int = 1,
                horizon: int = 1, task_ids: Sequence[int] | None = None) -> TransitionTable:
  """Concatenates episodes into one `TransitionTable`.

  Args:
    episodes: ``{"steps": {...}, "episode_metadata": {...}}`` dicts as
      `rlds_io.load_episodes` returns them.
    gamma: discount factor in [0, 1].
    n_step: TD backup length (>= 1).
    horizon: action chunk length H (>= 1).
    task_ids: one task id per episode, or None for no task ids.
  """
  if not 0.0 <= gamma <= 1.0:
    raise ValueError(f"discount must be in [0, 1]; got {gamma}")
  if n_step < 1 or horizon < 1:
    raise ValueError(f"n_step and action_horizon must be >= 1; got {n_step}, {horizon}")
  if not episodes:
    raise ValueError("no episodes to build transitions from")
  parts: dict[str, list[np.ndarray]] = {k: [] for k in (
      "obs_index", "next_index", "chunk_index", "reward", "discount", "mc_return")}
  observations: dict[str, list[np.ndarray]] = {}
  actions, starts, tasks = [], [], []
  offset = 0
  keys = None
  for e, episode in enumerate(episodes):
    steps = episode[rlds.STEPS]
    obs = observation_dict(steps[rlds.OBSERVATION])
    if keys is None:
      keys = sorted(obs)
    elif sorted(obs) != keys:
      raise ValueError(f"episode {e} has observation keys {sorted(obs)}; "
                       f"episode 0 had {keys}")
    num_steps = len(steps[rlds.REWARD])
    if num_steps < 2:
      continue  # A lone first step carries no transition.
    discounts = np.array(steps[rlds.DISCOUNT], np.float32)
    if rlds.IS_TERMINAL in steps and np.asarray(steps[rlds.IS_TERMINAL])[-1]:
      # Some writers leave discount 1 before a terminal state; is_terminal wins.
      discounts[-2] = 0.0
    idx = episode_indices(np.asarray(steps[rlds.REWARD]), discounts,
                          gamma=gamma, n_step=n_step, horizon=horizon)
    for k in ("obs_index", "next_index", "chunk_index"):
      parts[k].append(idx[k] + offset)
    for k in ("reward", "discount", "mc_return"):
      parts[k].append(idx[k])
    for k, v in obs.items():
      observations.setdefault(k, []).append(v)
    actions.append(np.asarray(steps[rlds.ACTION], np.float32))
    if task_ids is not None:
      tasks.append(np.full((num_steps,), task_ids[e], np.int32))
    starts.append(offset)
    offset += num_steps
  if not starts:
    raise ValueError("every episode has fewer than 2 steps: no transitions")
  obs_arrays = {k: np.concatenate(v) for k, v in observations.items()}
  if task_ids is not None:
    obs_arrays[types.TASK_ID_KEY] = np.concatenate(tasks)
  return TransitionTable(
      observations=obs_arrays,
      actions=np.concatenate(actions),
      episode_starts=np.asarray(starts),
      **{k: np.concatenate(v) for k, v in parts.items()})


def concatenate_tables(tables: Sequence[TransitionTable]) -> TransitionTable:
  """Joins tables (e.g. one per task) into one, re-basing the indices."""
  if len(tables) == 1:
    return tables[0]
  keys = sorted(tables[0].observations)
  for i, table in enumerate(tables):
    if sorted(table.observations) != keys:
      raise ValueError(f"dataset {i} has observation keys {sorted(table.observations)}; "
                       f"dataset 0 has {keys}")
  offsets = np.cumsum([0] + [len(t.actions) for t in tables[:-1]])
  def cat_index(name):
    return np.concatenate([getattr(t, name) + o for t, o in zip(tables, offsets)])
  return TransitionTable(
      observations={k: np.concatenate([t.observations[k] for t in tables]) for k in keys},
      actions=np.concatenate([t.actions for t in tables]),
      obs_index=cat_index("obs_index"),
      next_index=cat_index("next_index"),
      chunk_index=cat_index("chunk_index"),
      episode_starts=cat_index("episode_starts"),
      reward=np.concatenate([t.reward for t in tables]),
      discount=np.concatenate([t.discount for t in tables]),
      mc_return=np.concatenate([t.mc_return for t in tables]))
