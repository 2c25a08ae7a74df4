"""Run a behaviour policy in an environment and write an RLDS dataset."""

from __future__ import annotations

from typing import Any, Callable

import dm_env
import numpy as np
import rlds

from pa_rl import progress
from pa_rl import types
from pa_rl.datasets import rlds_io
from pa_rl import environments


def observation_specs(env: dm_env.Environment) -> dict[str, types.ObsSpec]:
  """`ObsSpec` per key of a dm_env environment's dict observation."""
  spec = env.observation_spec()
  if not isinstance(spec, dict):
    spec = {"state": spec}
  out = {}
  for key, s in spec.items():
    is_image = np.dtype(s.dtype) == np.uint8 and len(s.shape) == 3
    out[key] = types.ObsSpec(tuple(s.shape) or (1,), types.RGB if is_image else types.LOW_DIM)
  return out


def shape_meta_for(env: dm_env.Environment) -> types.ShapeMeta:
  """The `ShapeMeta` of an environment, for agents trained without a dataset
  (online from scratch): observations as given, actions mapped from the
  spec's bounds to [-1, 1]."""
  action_spec = env.action_spec()
  low = np.broadcast_to(action_spec.minimum, action_spec.shape).astype(np.float32).ravel()
  high = np.broadcast_to(action_spec.maximum, action_spec.shape).astype(np.float32).ravel()
  if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high)) and np.all(high > low)):
    raise ValueError(f"the action spec needs finite bounds with high > low; got low={low}, "
                     f"high={high}")
  return types.ShapeMeta(observations=observation_specs(env), action_dim=int(low.size),
                         normalizer=types.Normalizer({}, {}, low, high))


def _as_dict(observation) -> dict[str, np.ndarray]:
  if isinstance(observation, dict):
    return observation
  return {"state": observation}


def run_episode(env: dm_env.Environment, select_action: Callable[[Any], np.ndarray],
                max_steps: int | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
  """Runs one episode; returns its RLDS step fields and a summary.

  Step t holds o_t, the action a_t chosen there, and the reward and discount
  of the timestep that followed; the last step holds the final observation
  (RLDS convention). ``is_terminal`` is set when the episode ended with
  discount 0 (a true termination, not a time limit).
  """
  timestep = env.reset()
  action_spec = env.action_spec()
  observations, actions, rewards, discounts = [], [], [], []
  steps = 0
  while not timestep.last():
    action = np.asarray(select_action(timestep.observation), np.float32).reshape(action_spec.shape)
    next_timestep = env.step(action)
    observations.append(_as_dict(timestep.observation))
    actions.append(action)
    rewards.append(next_timestep.reward or 0.0)
    discounts.append(1.0 if next_timestep.discount is None else next_timestep.discount)
    timestep = next_timestep
    steps += 1
    if max_steps is not None and steps >= max_steps:
      break
  observations.append(_as_dict(timestep.observation))
  actions.append(np.zeros(action_spec.shape, np.float32))
  rewards.append(0.0)
  discounts.append(0.0)
  num = len(observations)
  terminal = timestep.last() and timestep.discount == 0.0
  step_fields = {
      rlds.OBSERVATION: {k: np.stack([np.asarray(o[k]) for o in observations])
                         for k in observations[0]},
      rlds.ACTION: np.stack(actions),
      rlds.REWARD: np.asarray(rewards, np.float32),
      rlds.DISCOUNT: np.asarray(discounts, np.float32),
      rlds.IS_FIRST: np.arange(num) == 0,
      rlds.IS_LAST: np.arange(num) == num - 1,
      rlds.IS_TERMINAL: (np.arange(num) == num - 1) & terminal,
  }
  success = environments.episode_success(env)
  summary = {"return": float(np.sum(rewards)), "length": num - 1,
             "success": bool(success) if success is not None else False,
             "has_success": success is not None}
  return step_fields, summary


def collect(env_name: str, output_dir: str, *, policy: str = "expert",
            num_episodes: int = 100, seed: int = 0, noise_std: float = 0.3,
            task_id: int = 0, overwrite: bool = False,
            mixture: Any = None, behaviour: Any = None) -> dict[str, Any]:
  """Collects ``num_episodes`` episodes into an RLDS dataset at ``output_dir``.

  Args:
    env_name: a name `environments.make_environment` knows.
    output_dir: where the dataset directory goes (written atomically).
    policy: behaviour policy kind: expert, noisy, random, segments or mixed
      (see `environments.make_behaviour_policy`).
    num_episodes: episodes to collect.
    seed: seeds the environment and the behaviour policy.
    noise_std: Gaussian noise of the ``noisy`` and ``segments`` policies
      (and ``mixed``'s).
    task_id: stored in every episode's metadata (multi-task data).
    overwrite: replace an existing dataset at ``output_dir``.
    mixture: for ``mixed``: probabilities of expert, noisy, random and
      (optionally) segments episodes (default 0.4, 0.3, 0.3).
    behaviour: a `BehaviourPolicy` to collect with instead of the ``policy``
      kind (e.g. a trained agent, `pa_rl.agents.evaluation.AgentBehaviour`);
      ``policy`` then only names it in the metadata.

  Returns:
    Summary statistics: episodes, steps, mean return, success rate.
  """
  if num_episodes < 1:
    raise ValueError(f"num_episodes must be >= 1; got {num_episodes}")
  env = environments.make_environment(env_name, seed=seed)
  if behaviour is None:
    behaviour = environments.make_behaviour_policy(
        env_name, env, kind=policy, seed=seed, noise_std=noise_std, mixture=mixture)
  elif not isinstance(behaviour, environments.BehaviourPolicy):
    raise TypeError(f"behaviour must be a BehaviourPolicy; got {type(behaviour).__name__}")
  action_spec = env.action_spec()
  writer = rlds_io.RLDSWriter(
      output_dir, observation_specs(env), int(np.prod(action_spec.shape)),
      action_spec.minimum * np.ones(action_spec.shape), action_spec.maximum * np.ones(action_spec.shape),
      env_name=env_name, overwrite=overwrite,
      extra_metadata={"policy": policy, "seed": seed, "noise_std": noise_std})
  returns, successes, has_success, num_steps = [], [], False, 0
  with writer:
    for _ in progress.progress(range(num_episodes), desc=f"collect {env_name}"):
      behaviour.begin_episode()
      steps, summary = run_episode(env, behaviour.select_action)
      writer.add_episode(steps, {"task_id": task_id, "success": summary["success"],
                                 "policy": policy})
      returns.append(summary["return"])
      successes.append(summary["success"])
      has_success = summary["has_success"]
      num_steps += summary["length"]
  env.close()
  return {
      "path": output_dir, "episodes": num_episodes, "transitions": num_steps,
      "mean_return": float(np.mean(returns)),
      "success_rate": float(np.mean(successes)) if has_success else None,
  }
