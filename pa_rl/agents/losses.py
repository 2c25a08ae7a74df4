"""Critic and policy losses shared by the agents (pure functions).

Critic losses: IQL (Kostrikov et al., 2022, Eqs. 5-6) and Cal-QL (Nakamoto et
al., 2023, Eq. 5: CQL's regularizer with the policy's Q lower-bounded by the
Monte-Carlo return). Policy losses: behaviour cloning, advantage-weighted
regression (IQL Eq. 7), the SAC-style reparameterized objective, and PA-RL
distillation (every one of them calls only the policy's own `loss`/`sample`).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from pa_rl import action_optimization as ao
from pa_rl import types
from pa_rl.networks import base


def _namespaced(metrics: dict) -> dict:
  return {k if "/" in k else f"critic/{k}": v for k, v in metrics.items()}


def expectile_loss(diff: jax.Array, expectile: float) -> jax.Array:
  """IQL Eq. 5: ``|tau - 1(diff < 0)| * diff^2`` with ``diff = q - v``."""
  weight = jnp.where(diff > 0, expectile, 1.0 - expectile)
  return weight * diff ** 2


def td_target(batch: types.Transition, next_value: jax.Array) -> jax.Array:
  """``r_t + discount_t * V(s_t)``; the batch's discount already holds gamma**n."""
  return jax.lax.stop_gradient(batch.reward + batch.discount * next_value)


def iql_critic_loss(critic: base.CriticNetwork, params: Any, target_params: Any,
                    key: jax.Array, batch: types.Transition, expectile: float,
                    next_value: jax.Array | None = None) -> tuple[jax.Array, dict]:
  """IQL: V by expectile regression on the target Q of the data action; Q by
  TD regression on ``r + gamma V(s')`` (or on ``next_value`` when given).
  """
  q_data = jax.lax.stop_gradient(
      critic.target_q(target_params, key, batch.observation, batch.action))
  v = critic.value(params, batch.observation)
  v_loss = expectile_loss(q_data - v, expectile).mean()
  if next_value is None:
    next_value = critic.value(params, batch.next_observation)
  q_loss, metrics = critic.loss(params, batch.observation, batch.action,
                                td_target(batch, next_value))
  return q_loss + v_loss, {**_namespaced(metrics), "critic/v_loss": v_loss, "critic/v_mean": v.mean()}


def sac_critic_loss(critic: base.CriticNetwork, params: Any, target_params: Any,
                    key: jax.Array, batch: types.Transition, next_actions: jax.Array,
                    next_log_prob: jax.Array, entropy_alpha: float) -> tuple[jax.Array, dict]:
  """SAC (Haarnoja et al., 2018): every member regressed onto
  ``r + gamma (min_subset Q_target(s', a') - alpha log pi(a'|s'))`` with
  ``a' ~ pi(s')``."""
  soft_value = (critic.target_q(target_params, key, batch.next_observation, next_actions)
                - entropy_alpha * next_log_prob)
  target = td_target(batch, soft_value)
  loss, metrics = critic.loss(params, batch.observation, batch.action, target)
  return loss, {**_namespaced(metrics), "critic/target": target.mean(),
                "critic/next_log_prob": next_log_prob.mean()}


def calql_critic_loss(critic: base.CriticNetwork, params: Any, target_params: Any,
                      key: jax.Array, batch: types.Transition, next_actions: jax.Array,
                      policy_actions: jax.Array, next_policy_actions: jax.Array,
                      random_actions: jax.Array, *, alpha: float,
                      use_calibration: bool = True) -> tuple[jax.Array, dict]:
  """Cal-QL: TD regression plus ``alpha * (logsumexp_a Q(s, a) - Q(s, a_data))``.

  Args:
    next_actions: ``[B, *A]`` actions at s' for the bootstrap (PA-RL: the
      optimized argmax).
    policy_actions: ``[B, n, *A]`` policy samples at s (the CQL actions).
    next_policy_actions: ``[B, n, *A]`` policy samples at s', scored at s
      (as in CQL's implementation).
    random_actions: ``[B, n, *A]`` uniform actions in [-1, 1].
    alpha: CQL regularizer weight (reference 0.005).
    use_calibration: lower-bound the policy actions' Q by the Monte-Carlo
      return (Cal-QL); False gives plain CQL.
  """
  target = td_target(batch, critic.target_q(target_params, key,
                                            batch.next_observation, next_actions))
  td_loss, metrics = critic.loss(params, batch.observation, batch.action, target)
  batch_size, n = policy_actions.shape[:2]
  obs_rep = ao.repeat_observation(batch.observation, n)

  def q_of(actions):
    flat = actions.reshape(batch_size * n, *actions.shape[2:])
    return critic.q_values(params, obs_rep, flat).reshape(-1, batch_size, n)  # [E, B, n]

  q_pi = q_of(jax.lax.stop_gradient(policy_actions))
  q_pi_next = q_of(jax.lax.stop_gradient(next_policy_actions))
  calibrated = (batch.mc_return[None, :, None] > q_pi).mean()
  if use_calibration:
    bound = batch.mc_return[None, :, None]
    q_pi = jnp.maximum(q_pi, bound)
    q_pi_next = jnp.maximum(q_pi_next, bound)
  q_all = jnp.concatenate([q_of(jax.lax.stop_gradient(random_actions)), q_pi, q_pi_next],
                          axis=-1)
  q_data = critic.q_values(params, batch.observation, batch.action)  # [E, B]
  gap = jax.nn.logsumexp(q_all, axis=-1) - jnp.log(q_all.shape[-1]) - q_data
  cql_loss = gap.mean(axis=1).sum()
  return td_loss + alpha * cql_loss, {
      **_namespaced(metrics), "critic/td_loss": td_loss, "critic/cql_gap": gap.mean(),
      "critic/q_data": q_data.mean(), "critic/target": target.mean(),
      "critic/calibrated_fraction": calibrated,
  }


def bc_loss(policy: base.PolicyNetwork, params: Any, key: jax.Array,
            batch: types.Transition, weights: jax.Array | None = None):
  """The policy's own supervised loss on the data actions."""
  loss, metrics = policy.loss(params, key, batch.observation, batch.action, weights)
  return loss, {f"policy/{k}": v for k, v in metrics.items()} | {"policy/loss": loss}


def awr_weights(q: jax.Array, v: jax.Array, temperature: float,
                max_weight: float = 100.0) -> jax.Array:
  """IQL Eq. 7 weights ``exp(beta * (Q - V))``, clipped for stability."""
  return jax.lax.stop_gradient(jnp.minimum(jnp.exp(temperature * (q - v)), max_weight))


def sac_policy_loss(policy: base.PolicyNetwork, params: Any, critic: base.CriticNetwork,
                    critic_params: Any, key: jax.Array, obs: types.Observation,
                    entropy_alpha: float):
  """``E[alpha log pi(a|s) - Q(s, a)]`` with a reparameterized sample (SAC)."""
  if policy.log_prob is None:
    raise ValueError(f"policy kind {policy.kind!r} has no log-density; the SAC-style "
                     "objective needs one (use the gaussian policy)")
  actions = policy.sample(params, key, obs, 1)[:, 0]
  log_prob = policy.log_prob(params, obs, actions)
  q = critic.q_values(critic_params, obs, actions).mean(0)
  loss = (entropy_alpha * log_prob - q).mean()
  return loss, {"policy/loss": loss, "policy/entropy": -log_prob.mean(), "policy/q": q.mean()}
