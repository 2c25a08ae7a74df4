"""Acting: a jitted policy function and an Acme-style actor around it."""

from __future__ import annotations

from typing import Any, Callable, Mapping

import dm_env
import jax
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


def real_array(value: Any, what: str) -> np.ndarray:
  """``value`` as a float32 array; errors name ``what``."""
  try:
    array = np.asarray(value)
  except (TypeError, ValueError) as e:  # e.g. ragged nested lists.
    raise ValueError(f"{what} is not a rectangular array: {e}") from e
  if array.dtype == bool or not (np.issubdtype(array.dtype, np.integer)
                                 or np.issubdtype(array.dtype, np.floating)):
    raise TypeError(f"{what} has dtype {array.dtype}; expected real numbers")
  with np.errstate(over="ignore"):
    array = array.astype(np.float32)
  if not np.all(np.isfinite(array)):  # After the cast: 1e39 overflows float32.
    raise ValueError(f"{what} holds NaN or Inf (in float32)")
  return array


def check_observation(obs: Any, shape_meta: types.ShapeMeta,
                      where: str) -> tuple[dict[str, np.ndarray], int | None]:
  """Validates one observation or a batch of them against ``shape_meta``.

  Args:
    obs: a dict of arrays (or, with one observation key, an array).
    shape_meta: the data description.
    where: how the errors name ``obs`` (``"observation"``,
      ``"batch.next_observation"``).

  Returns:
    ``(obs, batch_size)``: the observation as a dict of checked numpy arrays
    (float32 low-dim values, uint8 images, int32 task ids) and its batch size
    (None when unbatched).

  Raises:
    ValueError / TypeError: naming the key and what is wrong with it.
  """
  if not isinstance(obs, Mapping):
    if len(shape_meta.observations) != 1:
      raise TypeError(f"{where} must be a dict with keys {sorted(shape_meta.observations)}; "
                      f"got {type(obs).__name__}")
    obs = {next(iter(shape_meta.observations)): obs}
  expected = set(shape_meta.observations)
  if shape_meta.num_tasks:
    expected.add(types.TASK_ID_KEY)
  missing = sorted(expected - set(obs))
  unknown = sorted(set(obs) - expected, key=repr)
  if missing or unknown:
    raise ValueError(f"{where} keys do not match shape_meta: missing {missing}, unknown "
                     f"{unknown}; expected keys {sorted(expected)}")
  out, sizes = {}, {}
  for key, spec in shape_meta.observations.items():
    name = f"{where}[{key!r}]"
    if spec.type == types.RGB:
      try:
        value = np.asarray(obs[key])
      except (TypeError, ValueError) as e:
        raise ValueError(f"{name} is not a rectangular array: {e}") from e
      if value.dtype == bool or not np.issubdtype(value.dtype, np.integer):
        raise TypeError(f"{name} is an rgb image and has dtype {value.dtype}; expected "
                        "uint8")
      if value.size and (value.min() < 0 or value.max() > 255):
        raise ValueError(f"{name} is an rgb image with values outside [0, 255]")
      value = value.astype(np.uint8)
    else:
      value = real_array(obs[key], name)
    if value.shape == spec.shape:
      sizes[key] = None
    elif value.ndim == len(spec.shape) + 1 and value.shape[1:] == spec.shape:
      sizes[key] = value.shape[0]
    else:
      raise ValueError(f"{name} has shape {value.shape}; expected {spec.shape} or "
                       f"[batch, {', '.join(map(str, spec.shape))}]")
    out[key] = value
  if len(set(sizes.values())) > 1:
    raise ValueError(f"{where} keys disagree on the batch size: {sizes}")
  size = next(iter(sizes.values()))
  if size == 0:
    raise ValueError(f"{where} is an empty batch (batch size 0)")
  if shape_meta.num_tasks:
    name = f"{where}[{types.TASK_ID_KEY!r}]"
    try:
      task = np.asarray(obs[types.TASK_ID_KEY])
    except (TypeError, ValueError) as e:
      raise ValueError(f"{name} is not a rectangular array: {e}") from e
    if task.dtype == bool or not np.issubdtype(task.dtype, np.integer):
      raise TypeError(f"{name} has dtype {task.dtype}; expected integer task ids")
    want = () if size is None else (size,)
    if task.shape != want:
      raise ValueError(f"{name} has shape {task.shape}; expected {want}")
    if task.size and (task.min() < 0 or task.max() >= shape_meta.num_tasks):
      raise ValueError(f"{name} must be in [0, {shape_meta.num_tasks}); got {task.tolist()}")
    out[types.TASK_ID_KEY] = task.astype(np.int32)
  return out, size


def add_batch_axis(obs: Any, shape_meta: types.ShapeMeta) -> tuple[dict[str, Any], bool]:
  """Returns (batched dict observation, whether the input was unbatched).

  A bare array is accepted when the data has a single observation key. The
  checks are `check_observation`'s: errors name the key and the problem.
  """
  out, size = check_observation(obs, shape_meta, "observation")
  if size is None:
    out = {k: v[None] for k, v in out.items()}
  return out, size is None


def episode_transitions(steps: Mapping[str, Any], shape_meta: types.ShapeMeta,
                        discount: float, n_step: int = 1) -> types.Transition:
  """One episode's RLDS step fields (observation, action, reward, discount,
  is_terminal; the last step holds the final observation) as (n-step,
  chunked) transitions in the library's units, ready for a `ReplayBuffer`."""
  table = transitions_lib.build_table(
      [{rlds.STEPS: steps}], gamma=discount, n_step=n_step, horizon=shape_meta.action_horizon)
  chunk = table.actions[table.chunk_index]
  if shape_meta.action_horizon == 1:
    chunk = chunk[:, 0]
  o = table.observations
  t = types.Transition(
      observation={k: v[table.obs_index] for k, v in o.items()}, action=chunk,
      reward=table.reward, discount=table.discount,
      next_observation={k: v[table.next_index] for k, v in o.items()},
      mc_return=table.mc_return)
  return replay_lib.normalize_transition(t, shape_meta.normalizer)


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
    return episode_transitions(steps, self._meta, self._discount, self._n_step)

  def update(self, wait: bool = False) -> None:
    del wait  # Variables are read in-process.
    self._params = tuple(self._source.get_variables(["policy", "critic"]))
