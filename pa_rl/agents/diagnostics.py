"""What the critic believes and where action optimization takes the policy.

Two questions every offline-RL user meets when a policy fails:

* Is the critic calibrated? Its Q of the data's own actions against the
  Monte-Carlo returns observed in the data (Cal-QL's calibration; an
  over-optimistic critic sits far above them).
* Does acting leave the data? The action the agent would take (PA-RL: the
  optimized argmax) against the data's action at the same state: how far
  (per action dimension, in normalized units, so a gripper dimension shows
  up on its own), and how much more Q the critic gives it.

`critic_diagnostics` answers both on states of the training data;
`pa_rl.runners.evaluation.evaluate` writes them into its results.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from pa_rl import action_optimization as ao
from pa_rl.agents import acting
from pa_rl.agents import networks as networks_lib
from pa_rl.datasets import offline


def _rows(size: int, num_states: int) -> np.ndarray:
  """``num_states`` transition rows spread evenly over the dataset."""
  return np.unique(np.linspace(0, size - 1, min(num_states, size)).round().astype(np.int64))


def _correlation(x: np.ndarray, y: np.ndarray) -> float:
  if len(x) < 2 or np.std(x) == 0 or np.std(y) == 0:
    return float("nan")
  return float(np.corrcoef(x, y)[0, 1])


def critic_diagnostics(networks: networks_lib.AgentNetworks, policy_params: Any,
                       critic_params: Any, dataset: offline.OfflineDataset,
                       ao_config: ao.ActionOptimizationConfig | None = None, *,
                       num_states: int = 2048, batch_size: int = 256,
                       seed: int = 0) -> dict[str, Any]:
  """The critic's calibration and the distance of the agent's actions to the data.

  Args:
    networks: the agent's networks (a critic is required).
    policy_params: the parameters the agent samples with (EMA for diffusion).
    critic_params: the critic's parameters.
    dataset: the training data (normalized as for training).
    ao_config: the agent's acting action optimization; None for agents that
      act with the policy alone (then "chosen" is the policy's own action).
    num_states: data states examined (spread evenly over the dataset).
    batch_size: states per jitted call.
    seed: PRNG seed of the samples.

  Returns:
    ``diagnostics/*`` numbers: ``q_data`` and ``mc_return`` (means),
    ``q_minus_mc`` (mean of Q(s, a_data) - MC return: > 0 is optimism),
    ``q_mc_abs_error``, ``q_mc_correlation``, ``q_above_mc_fraction``;
    ``q_chosen`` (Q of the action acting would take), ``q_gain`` (its mean
    excess over Q(s, a_data)); ``action_distance_chosen`` /
    ``action_distance_policy`` (root-mean-square over action dimensions of
    the chosen / a plain policy sample's difference from the data action,
    in normalized units where actions span [-1, 1]) and their per-dimension
    mean absolute differences (``*_per_dim``, lists); ``num_states``.
  """
  if networks.critic is None:
    raise ValueError("critic diagnostics need an agent with a critic; this one has none")
  if not isinstance(num_states, int) or num_states < 1:
    raise ValueError(f"num_states must be an int >= 1; got {num_states!r}")
  policy, critic = networks.policy, networks.critic
  act = acting.make_policy_fn(networks, ao_config)

  @jax.jit
  def one_batch(key, batch):
    act_key, sample_key = jax.random.split(key)
    chosen = act(policy_params, critic_params, act_key, batch.observation, True, 0.0)
    sampled = policy.sample(policy_params, sample_key, batch.observation, 1)[:, 0]
    q_data = critic.q_values(critic_params, batch.observation, batch.action).mean(0)
    q_chosen = critic.q_values(critic_params, batch.observation, chosen).mean(0)
    flat = lambda a: a.reshape(a.shape[0], -1)
    return (q_data, q_chosen, batch.mc_return,
            jnp.abs(flat(chosen) - flat(batch.action)),
            jnp.abs(flat(sampled) - flat(batch.action)))

  rows = _rows(dataset.size, num_states)
  key = jax.random.PRNGKey(seed)
  parts = []
  for start in range(0, len(rows), batch_size):
    key, sub = jax.random.split(key)
    batch = offline.gather(dataset.data, jnp.asarray(rows[start:start + batch_size]))
    parts.append(jax.device_get(one_batch(sub, batch)))
  q_data, q_chosen, mc, diff_chosen, diff_policy = (
      np.concatenate([p[i] for p in parts]).astype(np.float64) for i in range(5))
  error = q_data - mc
  return {
      "diagnostics/num_states": int(len(rows)),
      "diagnostics/q_data": float(q_data.mean()),
      "diagnostics/mc_return": float(mc.mean()),
      "diagnostics/q_minus_mc": float(error.mean()),
      "diagnostics/q_mc_abs_error": float(np.abs(error).mean()),
      "diagnostics/q_mc_correlation": _correlation(q_data, mc),
      "diagnostics/q_above_mc_fraction": float((error > 0).mean()),
      "diagnostics/q_chosen": float(q_chosen.mean()),
      "diagnostics/q_gain": float((q_chosen - q_data).mean()),
      "diagnostics/action_distance_chosen": float(np.sqrt((diff_chosen ** 2).mean())),
      "diagnostics/action_distance_policy": float(np.sqrt((diff_policy ** 2).mean())),
      "diagnostics/action_abs_diff_chosen_per_dim": diff_chosen.mean(0).round(4).tolist(),
      "diagnostics/action_abs_diff_policy_per_dim": diff_policy.mean(0).round(4).tolist(),
  }


def headline(diagnostics: dict[str, Any]) -> str:
  """One line for a log: calibration and distance from the data."""
  d = {k.split("/", 1)[1]: v for k, v in diagnostics.items()}
  return (f"critic Q(s, a_data) {d['q_data']:.2f} vs observed return {d['mc_return']:.2f} "
          f"(Q - return {d['q_minus_mc']:+.2f}, correlation {d['q_mc_correlation']:.2f}); "
          f"chosen actions' Q {d['q_gain']:+.2f} over the data's, "
          f"{d['action_distance_chosen']:.3f} from them (a policy sample: "
          f"{d['action_distance_policy']:.3f}; RMS, actions in [-1, 1])")
