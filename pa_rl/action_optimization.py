"""PA-RL action optimization (Sobol Mark et al., 2024, "Policy Agnostic RL").

Pure, jit-friendly functions. Given a base policy and a critic:
  1. Global: sample N actions per state, score each with the critic, keep the
     top k.
  2. Local: T steps of gradient ascent ``a <- clip(a + step_size * dQ/da)`` on
     the kept actions, keeping each candidate's best iterate.
  3. Selection: the argmax (acting, TD targets) or a sample from
     ``softmax(Q / temperature)`` (distillation targets); optionally the
     dataset action replaces the worst candidate first.
The policy is never differentiated through the critic, so any policy class
works: only `PolicyNetwork.sample` is called.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from pa_rl import config_utils
from pa_rl import types
from pa_rl.networks import base

ARGMAX = "argmax"
SOFTMAX = "softmax"
Q_REDUCTIONS = ("mean", "min")


@dataclasses.dataclass(frozen=True)
class ActionOptimizationConfig:
  """Action optimization settings (reference defaults of PA-RL).

  Attributes:
    num_samples: N, actions sampled from the base policy per state.
    top_k: k, candidates kept after the global stage (<= num_samples).
    num_steps: T, gradient-ascent steps of the local stage (0 disables it).
    step_size: gradient-ascent step size, in normalized action units.
    q_reduce: how ensemble members are combined when scoring and climbing:
      ``"mean"`` (the reference) or ``"min"``.
    temperature: softmax temperature of the distillation-target selection.
    replace_worst_with_dataset: when a dataset action is given, it replaces
      the lowest-Q candidate before selection.
  """
  num_samples: int = 32
  top_k: int = 10
  num_steps: int = 10
  step_size: float = 3e-4
  q_reduce: str = "mean"
  temperature: float = 1.0
  replace_worst_with_dataset: bool = True

  def __post_init__(self):
    config_utils.check_int(self, "num_samples", 1)
    config_utils.check_int(self, "top_k", 1)
    if self.top_k > self.num_samples:
      raise ValueError(f"ActionOptimizationConfig.top_k must be in [1, num_samples="
                       f"{self.num_samples}]; got {self.top_k}")
    config_utils.check_int(self, "num_steps", 0)
    config_utils.check_number(self, "step_size", 0)
    config_utils.check_choice(self, "q_reduce", Q_REDUCTIONS)
    config_utils.check_number(self, "temperature", 0, low_open=True)
    config_utils.check_bool(self, "replace_worst_with_dataset")


def repeat_observation(obs: types.Observation, n: int) -> dict[str, jax.Array]:
  """``[B, ...]`` -> ``[B * n, ...]``, each observation repeated n times in a row."""
  return {k: jnp.repeat(v, n, axis=0) for k, v in obs.items()}


def score(critic: base.CriticNetwork, critic_params: Any, obs: types.Observation,
          actions: jax.Array, q_reduce: str = "mean") -> jax.Array:
  """Q of ``actions`` ``[B, M, *A]`` at ``obs`` ``[B, ...]`` -> ``[B, M]``."""
  batch, m = actions.shape[:2]
  flat = actions.reshape(batch * m, *actions.shape[2:])
  q = critic.q_values(critic_params, repeat_observation(obs, m), flat)  # [E, B*M]
  q = q.mean(0) if q_reduce == "mean" else q.min(0)
  return q.reshape(batch, m)


def global_optimization(policy: base.PolicyNetwork, policy_params: Any,
                        critic: base.CriticNetwork, critic_params: Any, key: jax.Array,
                        obs: types.Observation, config: ActionOptimizationConfig,
                        **sample_kwargs) -> tuple[jax.Array, jax.Array, jax.Array]:
  """Samples N actions per state and keeps the k with the highest Q.

  Returns:
    (candidates ``[B, k, *A]``, their Q ``[B, k]``, mean Q of all N samples
    ``[B]``).
  """
  samples = policy.sample(policy_params, key, obs, config.num_samples, **sample_kwargs)
  q = score(critic, critic_params, obs, samples, config.q_reduce)
  top_q, top_idx = jax.lax.top_k(q, config.top_k)
  idx = top_idx.reshape(top_idx.shape + (1,) * (samples.ndim - 2))
  candidates = jnp.take_along_axis(samples, idx, axis=1)
  return candidates, top_q, q.mean(axis=1)


def local_optimization(critic: base.CriticNetwork, critic_params: Any,
                       obs: types.Observation, candidates: jax.Array, q: jax.Array,
                       config: ActionOptimizationConfig) -> tuple[jax.Array, jax.Array]:
  """T steps of clipped gradient ascent on Q, keeping each candidate's best iterate.

  Args:
    candidates: ``[B, k, *A]`` in [-1, 1].
    q: their Q ``[B, k]``.

  Returns:
    (best iterates ``[B, k, *A]``, their Q ``[B, k]``); Q never decreases.
  """
  if config.num_steps == 0:
    return candidates, q
  batch, k = candidates.shape[:2]
  obs_rep = repeat_observation(obs, k)
  flat_shape = (batch * k, *candidates.shape[2:])
  reducer = jnp.mean if config.q_reduce == "mean" else jnp.min

  def q_and_grad(actions):
    # One forward pass gives both the Q of the iterate (to keep the best) and,
    # with its backward pass, the ascent direction: the same numbers as
    # `score` and `critic.action_grad`, at about two thirds of their cost.
    def total(flat):
      q = reducer(critic.q_values(critic_params, obs_rep, flat), axis=0)
      return jnp.sum(q), q
    (_, q), grad = jax.value_and_grad(total, has_aux=True)(actions.reshape(flat_shape))
    return q.reshape(batch, k), grad.reshape(actions.shape)

  def keep_best(current, current_q, best, best_q, allowed=True):
    better = jnp.logical_and(current_q > best_q, allowed)
    mask = better.reshape(better.shape + (1,) * (current.ndim - 2))
    return jnp.where(mask, current, best), jnp.where(better, current_q, best_q)

  def body(i, carry):
    current, best, best_q = carry
    current_q, grad = q_and_grad(current)
    # Iterate 0 is the candidate itself, whose Q is already ``q``.
    best, best_q = keep_best(current, current_q, best, best_q, i > 0)
    current = jnp.clip(current + config.step_size * grad, -1.0, 1.0)
    return current, best, best_q

  current, best, best_q = jax.lax.fori_loop(0, config.num_steps, body,
                                            (candidates, candidates, q))
  last_q = score(critic, critic_params, obs, current, config.q_reduce)
  return keep_best(current, last_q, best, best_q)


def select(key: jax.Array, candidates: jax.Array, q: jax.Array, mode: str,
           temperature: float = 1.0) -> tuple[jax.Array, jax.Array]:
  """Picks one candidate per state: the argmax or a softmax(Q / T) sample."""
  if mode == ARGMAX:
    idx = jnp.argmax(q, axis=1)
  elif mode == SOFTMAX:
    idx = jax.random.categorical(key, q / temperature, axis=1)
  else:
    raise ValueError(f"selection mode={mode!r} is unknown; choose one of: {ARGMAX}, {SOFTMAX}")
  chosen = jnp.take_along_axis(
      candidates, idx.reshape((-1, 1) + (1,) * (candidates.ndim - 2)), axis=1)[:, 0]
  return chosen, jnp.take_along_axis(q, idx[:, None], axis=1)[:, 0]


def optimize_actions(policy: base.PolicyNetwork, policy_params: Any,
                     critic: base.CriticNetwork, critic_params: Any, key: jax.Array,
                     obs: types.Observation, config: ActionOptimizationConfig, *,
                     mode: str = ARGMAX, dataset_actions: jax.Array | None = None,
                     **sample_kwargs) -> tuple[jax.Array, dict[str, jax.Array]]:
  """Global + local optimization and selection: one action per state.

  Args:
    policy, policy_params: the base policy (its EMA parameters for diffusion).
    critic, critic_params: the critic that scores and climbs.
    key: PRNG key.
    obs: observations ``[B, ...]``.
    config: `ActionOptimizationConfig`.
    mode: ``"argmax"`` or ``"softmax"``.
    dataset_actions: ``[B, *A]`` actions from the data; with
      ``config.replace_worst_with_dataset`` they replace the worst candidate.
    **sample_kwargs: passed to ``policy.sample`` (e.g. guidance).

  Returns:
    (actions ``[B, *A]``, metrics): ``action_opt/q_samples`` (mean Q of the
    N samples), ``q_global`` (mean of the kept top k), ``q_local`` (after
    gradient ascent), ``q_selected``, and the gains ``global_gain`` /
    ``local_gain``.
  """
  sample_key, select_key = jax.random.split(key)
  candidates, q_top, q_all = global_optimization(
      policy, policy_params, critic, critic_params, sample_key, obs, config, **sample_kwargs)
  best, best_q = local_optimization(critic, critic_params, obs, candidates, q_top, config)
  q_local = best_q.mean()
  if dataset_actions is not None and config.replace_worst_with_dataset:
    data_q = score(critic, critic_params, obs, dataset_actions[:, None], config.q_reduce)
    worst = jnp.argmin(best_q, axis=1)
    onehot = jax.nn.one_hot(worst, best_q.shape[1], dtype=bool)
    best_q = jnp.where(onehot, data_q, best_q)
    mask = onehot.reshape(onehot.shape + (1,) * (best.ndim - 2))
    best = jnp.where(mask, dataset_actions[:, None], best)
  chosen, chosen_q = select(select_key, best, best_q, mode, config.temperature)
  metrics = {
      "action_opt/q_samples": q_all.mean(),
      "action_opt/q_global": q_top.mean(),
      "action_opt/q_local": q_local,
      "action_opt/q_selected": chosen_q.mean(),
      "action_opt/global_gain": q_top.mean() - q_all.mean(),
      "action_opt/local_gain": q_local - q_top.mean(),
  }
  return chosen, metrics
