"""Acting: a jitted policy function and an Acme-style actor around it."""

from __future__ import annotations

import functools
from typing import Any, Callable, Mapping

import dm_env
import jax
import jax.numpy as jnp
import numpy as np
import rlds

from pa_rl import action_optimization as ao
from pa_rl import core
from pa_rl import types
from pa_rl.agents import networks as networks_lib
from pa_rl.datasets import replay as replay_lib
from pa_rl.datasets import transitions as transitions_lib

PolicyFn = Callable[..., jax.Array]


def make_policy_fn(networks: networks_lib.AgentNetworks,
                   ao_config: ao.ActionOptimizationConfig | None) -> PolicyFn:
  """``policy_fn(policy_params, critic_params, key, obs, evaluation,
  guidance_scale) -> actions [B, *A]`` (normalized units), jitted.

  With ``ao_config`` (the RL agents), actions come from PA-RL action
  optimization: the argmax when ``evaluation``, else a softmax(Q/T) sample
  over the optimized candidates. Without it (imitation), a policy sample:
  the mode when ``evaluation``.

  ``guidance_scale`` (>= 0, static): 0 samples the base policy as is; > 0
  steers each sample up the critic's gradient ``guidance_scale * dQ/da``
  (diffusion: at every denoising step; other classes: once, after sampling).
  It needs a critic.
  """
  policy, critic = networks.policy, networks.critic

  def policy_fn(policy_params, critic_params, key, obs, evaluation: bool,
                guidance_scale: float):
    kwargs = {}
    if guidance_scale:
      if critic is None:
        raise ValueError("guidance_scale > 0 needs a critic; this agent has none")
      kwargs = {"guidance_fn": lambda o, a: critic.action_grad(critic_params, o, a),
                "guidance_scale": guidance_scale}
    if ao_config is not None and critic is not None:
      actions, _ = ao.optimize_actions(
          policy, policy_params, critic, critic_params, key, obs, ao_config,
          mode=ao.ARGMAX if evaluation else ao.SOFTMAX, **kwargs)
      return actions
    return policy.sample(policy_params, key, obs, 1, deterministic=evaluation, **kwargs)[:, 0]

  return jax.jit(policy_fn, static_argnames=("evaluation", "guidance_scale"))


def add_batch_axis(obs: Any, shape_meta: types.ShapeMeta) -> tuple[dict[str, Any], bool]:
  """Returns (batched dict observation, whether the input was unbatched).

  A bare array is accepted when the data has a single observation key.
  Raises a ValueError naming the key whose shape does not match shape_meta.
  """
  if not isinstance(obs, Mapping):
    if len(shape_meta.observations) != 1:
      raise ValueError(f"observations must be a dict with keys "
                       f"{sorted(shape_meta.observations)}; got {type(obs).__name__}")
    obs = {next(iter(shape_meta.observations)): obs}
  expected = set(shape_meta.observations) | ({types.TASK_ID_KEY} if shape_meta.num_tasks else set())
  if set(obs) != expected:
    raise ValueError(f"observation keys {sorted(obs)} do not match the expected keys "
                     f"{sorted(expected)}")
  single = None
  out = {}
  for key, spec in shape_meta.observations.items():
    value = np.asarray(obs[key])
    if value.shape == spec.shape:
      is_single = True
    elif value.ndim == len(spec.shape) + 1 and value.shape[1:] == spec.shape:
      is_single = False
    else:
      raise ValueError(f"observation[{key!r}] has shape {value.shape}; expected {spec.shape} "
                       f"or [batch, {', '.join(map(str, spec.shape))}]")
    if single is not None and single != is_single:
      raise ValueError("observation keys disagree on whether they are batched")
    single = is_single
    if spec.type == types.LOW_DIM:
      if not np.issubdtype(value.dtype, np.number):
        raise TypeError(f"observation[{key!r}] has dtype {value.dtype}; expected numbers")
      if not np.all(np.isfinite(value)):
        raise ValueError(f"observation[{key!r}] holds NaN or Inf")
      value = value.astype(np.float32)
    out[key] = value[None] if is_single else value
  if shape_meta.num_tasks:
    task = np.asarray(obs[types.TASK_ID_KEY]).astype(np.int32).reshape(-1)
    if task.size and (task.min() < 0 or task.max() >= shape_meta.num_tasks):
      raise ValueError(f"task_id must be in [0, {shape_meta.num_tasks}); got {task}")
    out[types.TASK_ID_KEY] = task
  return out, bool(single)


class Actor(core.Actor):
  """An Acme `Actor` for any agent: runs in `acme.EnvironmentLoop`.

  It takes observations in environment units, normalizes them with the data's
  statistics, acts through the jitted policy function and returns actions in
  environment units. With action chunks it plays the H actions of a chunk
  before asking the policy again. With ``on_episode_end`` it turns each
  finished episode into (n-step, chunked) transitions in the library's units
  and hands them over (e.g. to a `ReplayBuffer`).
  """

  def __init__(self, policy_fn: PolicyFn, variable_source: core.VariableSource,
               shape_meta: types.ShapeMeta, *, seed: int = 0, evaluation: bool = True,
               guidance_scale: float = 0.0, discount: float = 0.99, n_step: int = 1,
               on_episode_end: Callable[[types.Transition], None] | None = None):
    self._policy_fn = policy_fn
    self._source = variable_source
    self._meta = shape_meta
    self._normalizer = shape_meta.normalizer
    self._key = jax.random.PRNGKey(seed)
    self._evaluation = evaluation
    self._guidance_scale = float(guidance_scale)
    self._discount = discount
    self._n_step = n_step
    self._on_episode_end = on_episode_end
    self._queue: list[np.ndarray] = []
    self._episode: list[tuple[Any, np.ndarray, float, float]] = []
    self._last_obs = None
    self._params = None
    self.update(wait=True)

  def select_action(self, observation) -> np.ndarray:
    if not self._queue:
      obs, _ = add_batch_axis(observation, self._meta)
      if self._normalizer is not None:
        obs = self._normalizer.normalize_observation(obs)
      self._key, key = jax.random.split(self._key)
      actions = self._policy_fn(self._params[0], self._params[1], key, obs,
                                self._evaluation, self._guidance_scale)[0]
      if self._normalizer is not None:
        actions = self._normalizer.unnormalize_action(actions)
      actions = np.asarray(actions, np.float32)
      self._queue = list(actions) if self._meta.action_horizon > 1 else [actions]
    return self._queue.pop(0)

  def observe_first(self, timestep: dm_env.TimeStep) -> None:
    self._queue = []
    self._episode = []
    self._last_obs = timestep.observation

  def observe(self, action, next_timestep: dm_env.TimeStep) -> None:
    if self._on_episode_end is None:
      return
    discount = 1.0 if next_timestep.discount is None else float(next_timestep.discount)
    self._episode.append((self._last_obs, np.asarray(action, np.float32),
                          float(next_timestep.reward or 0.0), discount))
    self._last_obs = next_timestep.observation
    if next_timestep.last():
      self._on_episode_end(self._episode_transitions(next_timestep))
      self._episode = []

  def _episode_transitions(self, last: dm_env.TimeStep) -> types.Transition:
    obs = [o for o, *_ in self._episode] + [last.observation]
    as_dict = lambda o: o if isinstance(o, Mapping) else {next(iter(self._meta.observations)): o}
    obs = [as_dict(o) for o in obs]
    num = len(obs)
    actions = np.stack([a for _, a, *_ in self._episode] + [np.zeros_like(self._episode[0][1])])
    steps = {
        rlds.OBSERVATION: {k: np.stack([np.asarray(o[k]) for o in obs]) for k in obs[0]},
        rlds.ACTION: actions,
        rlds.REWARD: np.asarray([r for *_, r, _ in self._episode] + [0.0], np.float32),
        rlds.DISCOUNT: np.asarray([d for *_, d in self._episode] + [0.0], np.float32),
        rlds.IS_TERMINAL: np.arange(num) == num - 1 if last.discount == 0 else np.zeros(num, bool),
    }
    table = transitions_lib.build_table(
        [{rlds.STEPS: steps}], gamma=self._discount, n_step=self._n_step,
        horizon=self._meta.action_horizon)
    chunk = table.actions[table.chunk_index]
    if self._meta.action_horizon == 1:
      chunk = chunk[:, 0]
    o = {k: v for k, v in table.observations.items()}
    t = types.Transition(
        observation={k: v[table.obs_index] for k, v in o.items()}, action=chunk,
        reward=table.reward, discount=table.discount,
        next_observation={k: v[table.next_index] for k, v in o.items()},
        mc_return=table.mc_return)
    return replay_lib.normalize_transition(t, self._normalizer)

  def update(self, wait: bool = False) -> None:
    del wait  # Variables are read in-process.
    self._params = tuple(self._source.get_variables(["policy", "critic"]))
