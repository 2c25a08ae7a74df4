"""The seed's functional face: ``create_agent``, ``agent.update``, ``agent.act``.

An agent is an immutable `PAModule`; ``agent.update(batch)`` returns metrics
and the updated agent at ``info["agent"]``. Under the hood it runs the same
jitted `update_step` as the Acme learners.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import numbers
from typing import Any, Mapping

import jax
import numpy as np

from pa_rl import config_utils
from pa_rl import core
from pa_rl import models
from pa_rl import types
from pa_rl.agents import acting
from pa_rl.agents import networks as networks_lib
from pa_rl.agents import state as state_lib
from pa_rl.agents import update as update_lib
from pa_rl.agents.bc import config as bc_config
from pa_rl.agents.calql import config as calql_config
from pa_rl.agents.iql import config as iql_config
from pa_rl.agents.parl import config as parl_config
from pa_rl.agents.sac import config as sac_config


@dataclasses.dataclass(frozen=True)
class _Functions:
  update: Any
  act: Any
  objective: update_lib.Objective


@dataclasses.dataclass(frozen=True)
class Agent(core.PAModule):
  """A policy (any class), an optional critic and their training state.

  Attributes:
    policy_model: the policy as created (its network and config).
    critic_model: the critic as created, or None.
    config: the agent's config dataclass.
    state: the `TrainingState` (parameters, optimizers, RNG, step).
  """
  policy_model: models.PolicyModel
  critic_model: models.QCritic | None
  config: Any
  state: state_lib.TrainingState
  functions: _Functions = dataclasses.field(repr=False, compare=False)
  act_counter: Any = dataclasses.field(default_factory=itertools.count, repr=False,
                                       compare=False)

  @property
  def policy(self) -> models.PolicyModel:
    """The policy with its current parameters."""
    return self.policy_model.replace(params=self.state.policy_params)

  @property
  def critic(self) -> models.QCritic | None:
    """The critic with its current parameters."""
    if self.critic_model is None:
      return None
    return self.critic_model.replace(params=self.state.critic_params)

  @property
  def shape_meta(self) -> types.ShapeMeta:
    return self.policy_model.shape_meta

  @property
  def step(self) -> int:
    return int(self.state.step)

  def update(self, batch: types.Transition | Mapping[str, Any]) -> dict[str, Any]:
    """One update on ``batch``; returns float metrics and ``info["agent"]``."""
    batch = check_batch(batch, self.shape_meta)
    new_state, metrics = self.functions.update(self.state, batch)
    info = {k: float(v) for k, v in jax.device_get(metrics).items()}
    info["agent"] = self.replace(state=new_state)
    return info

  def act(self, observations: Any, evaluation: bool = True, guidance_scale: float = 0.0,
          seed: int | None = None) -> np.ndarray:
    """Actions for one observation or a batch, in the environment's units.

    Args:
      observations: a dict (or, with one observation key, an array) of one
        observation or of a batch (leading axis), in environment units.
      evaluation: True: the best action (PA-RL: argmax of the optimized
        candidates; imitation: the policy's mode). False: an exploratory
        sample.
      guidance_scale: ``s >= 0``. 0: base-policy samples (then PA-RL's
        selection, for the RL agents). ``s > 0``: each sample is steered up
        the critic by ``s * dQ/da`` (diffusion: at every denoising step,
        classifier-guidance style; other classes: one step after sampling).
        Needs a critic.
      seed: PRNG seed of this call; by default evaluation calls are
        deterministic given the agent and exploratory calls draw fresh keys.
    """
    if (isinstance(guidance_scale, (bool, np.bool_))
        or not isinstance(guidance_scale, numbers.Real)
        or not np.isfinite(guidance_scale) or guidance_scale < 0):
      raise ValueError(f"guidance_scale must be a finite number >= 0; got {guidance_scale!r}")
    if guidance_scale and self.critic_model is None:
      raise ValueError("guidance_scale > 0 needs a critic; this agent has none")
    if not isinstance(evaluation, (bool, np.bool_)):
      raise TypeError(f"evaluation must be a bool; got {evaluation!r}")
    if seed is not None and (isinstance(seed, (bool, np.bool_))
                             or not isinstance(seed, numbers.Integral)
                             or not -2**63 <= seed < 2**63):
      raise TypeError(f"seed must be None or a 64-bit int; got {seed!r}")
    obs, single = acting.add_batch_axis(observations, self.shape_meta)
    normalizer = self.shape_meta.normalizer
    if normalizer is not None:
      obs = normalizer.normalize_observation(obs)
    if seed is None:
      seed = 0 if evaluation else next(self.act_counter) + 1
    key = jax.random.fold_in(jax.random.PRNGKey(seed), self.state.step)
    actions = self.functions.act(
        update_lib.sampling_params(self.policy_model.network, self.state),
        self.state.critic_params, key, obs, bool(evaluation), float(guidance_scale))
    if normalizer is not None:
      actions = normalizer.unnormalize_action(actions)
    actions = np.asarray(actions)
    return actions[0] if single else actions


check_observation = acting.check_observation


def check_batch(batch: Any, shape_meta: types.ShapeMeta) -> types.Transition:
  """Validates an update batch; raises a ValueError naming the bad field.

  Returns the batch with every leaf a checked array (float32 values, uint8
  images, int32 task ids), so a batch of ints compiles no second program.
  """
  fields = types.Transition._fields
  if isinstance(batch, Mapping) and not isinstance(batch, types.Transition):
    unknown = sorted(set(batch) - set(fields), key=repr)
    missing = [f for f in fields if f not in batch]
    if unknown or missing:
      raise ValueError(f"batch has unknown fields {unknown} and misses {missing}; "
                       f"expected {', '.join(fields)}")
    batch = types.Transition(**batch)
  if not isinstance(batch, types.Transition):
    raise TypeError(f"batch must be a Transition (from dataset.sample); got "
                    f"{type(batch).__name__}")
  action = acting.real_array(batch.action, "batch.action")
  if action.ndim < 1 or action.shape[1:] != shape_meta.action_shape:
    raise ValueError(f"batch.action has shape {action.shape}; expected "
                     f"[batch, {', '.join(map(str, shape_meta.action_shape))}]")
  size = action.shape[0]
  if size == 0:
    raise ValueError("batch.action is an empty batch (batch size 0)")
  if shape_meta.normalizer is not None and np.any(np.abs(action) > 1.0 + 1e-3):
    raise ValueError("batch.action must be normalized to [-1, 1] (as dataset.sample returns "
                     f"it); got values in [{action.min()}, {action.max()}]")
  out = {"action": action}
  for name in ("observation", "next_observation"):
    obs, obs_size = acting.check_observation(getattr(batch, name), shape_meta, f"batch.{name}")
    if obs_size != size:
      raise ValueError(f"batch.{name} must have the batch size {size} on every key; got "
                       f"{'no batch axis' if obs_size is None else obs_size}")
    out[name] = obs
  for name in ("reward", "discount", "mc_return"):
    value = acting.real_array(getattr(batch, name), f"batch.{name}")
    if value.shape != (size,):
      raise ValueError(f"batch.{name} has shape {value.shape}; expected ({size},)")
    out[name] = value
  if np.any(out["discount"] < 0) or np.any(out["discount"] > 1):
    raise ValueError("batch.discount must be in [0, 1] (gamma**n times the environment's "
                     f"discounts); got values in [{out['discount'].min()}, "
                     f"{out['discount'].max()}]")
  # Leaves that already had the right dtype are passed on as given (device
  # arrays from dataset.sample stay on the device).
  def keep(given, checked):
    if isinstance(checked, Mapping):
      given = given if isinstance(given, Mapping) else {}
      return {k: keep(given.get(k), v) for k, v in checked.items()}
    same = (getattr(given, "dtype", None) == checked.dtype
            and tuple(np.shape(given)) == checked.shape)
    return given if same else checked
  given = batch._asdict()
  return types.Transition(**{k: keep(given.get(k), v) for k, v in out.items()})


class ImitationAgent(Agent):
  """Behaviour cloning of any policy class; no critic, no rewards."""


class IQLAgent(Agent):
  """IQL critic with an advantage-weighted policy (a baseline)."""


class CalQLAgent(Agent):
  """Cal-QL critic with a SAC-style Gaussian policy (a baseline)."""


class SACAgent(Agent):
  """Online SAC with a Gaussian policy (trains behaviour policies, e.g. for
  the locomotion datasets; see `pa_rl.agents.evaluation.train_online`)."""


class OfflineRLAgent(Agent):
  """PA-RL offline: critic + action optimization + distillation, any policy."""


class DiffusionPolicyRLAgent(OfflineRLAgent):
  """PA-RL with a diffusion policy."""


class ActorCriticAgent(OfflineRLAgent):
  """PA-RL online fine-tuning: acts with action optimization; updated with
  mixed offline/online batches (see `pa_rl.agents.online`)."""


# agent_type -> (class, config class, objective from config, needs critic)
AGENT_TYPES = {
    "imitation": (ImitationAgent, bc_config.ImitationConfig,
                  lambda c: update_lib.Objective("none", "bc")),
    "iql": (IQLAgent, iql_config.IQLConfig, lambda c: update_lib.Objective("iql", "awr")),
    "calql": (CalQLAgent, calql_config.CalQLConfig,
              lambda c: update_lib.Objective("calql", "sac")),
    "offline_rl": (OfflineRLAgent, parl_config.PARLConfig,
                   lambda c: update_lib.Objective(c.critic_objective, "distill")),
    "diffusion_rl": (DiffusionPolicyRLAgent, parl_config.PARLConfig,
                     lambda c: update_lib.Objective(c.critic_objective, "distill")),
    "actor_critic": (ActorCriticAgent, parl_config.ActorCriticConfig,
                     lambda c: update_lib.Objective(c.critic_objective, "distill")),
    "sac": (SACAgent, sac_config.SACConfig, lambda c: update_lib.Objective("sac", "sac")),
}


_FUNCTIONS: "collections.OrderedDict[Any, tuple[networks_lib.AgentNetworks, _Functions]]" = (
    collections.OrderedDict())
_MAX_CACHED = 16


def _functions(networks: networks_lib.AgentNetworks, config: Any,
               objective: update_lib.Objective) -> _Functions:
  """Jitted functions, shared by every agent built from the same networks
  and config (``agent.update`` then never recompiles)."""
  cache_key = (id(networks.policy), id(networks.critic), config, objective)
  if cache_key in _FUNCTIONS:
    _FUNCTIONS.move_to_end(cache_key)
    return _FUNCTIONS[cache_key][1]
  update = jax.jit(update_lib.make_update_step(networks.policy, networks.critic, config,
                                               objective))
  ao_config = config.action_optimization if objective.policy == "distill" else None
  fns = _Functions(update=update, act=acting.make_policy_fn(networks, ao_config),
                   objective=objective)
  # The networks are kept alive with the entry so their ids stay unique.
  _FUNCTIONS[cache_key] = (networks, fns)
  while len(_FUNCTIONS) > _MAX_CACHED:  # Bounded: compiled code is large.
    _FUNCTIONS.popitem(last=False)
  return fns


def clear_cache() -> None:
  """Drops the cached jitted agent functions (and their compiled code)."""
  _FUNCTIONS.clear()


def create_agent(agent_type: str, policy: models.PolicyModel,
                 critic: models.QCritic | None = None, seed: int = 0,
                 config: Any = None) -> Agent:
  """Creates an agent from a policy and a critic.

  Args:
    agent_type: imitation, offline_rl, diffusion_rl, actor_critic, iql,
      calql or sac.
    policy: from `create_policy_model`.
    critic: from `create_q_critic` (None for imitation).
    seed: seeds the agent's update randomness (a 64-bit int).
    config: None, a partial dict or the agent's config dataclass; a
      misspelled key is an error listing the valid keys.
  """
  if (isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral)
      or not -2**63 <= seed < 2**63):
    raise TypeError(f"seed must be a 64-bit int; got {seed!r}")
  if agent_type not in AGENT_TYPES:
    raise ValueError(f"agent_type={agent_type!r} is unknown; choose one of: "
                     f"{', '.join(AGENT_TYPES)}")
  cls, config_cls, objective_fn = AGENT_TYPES[agent_type]
  config = config_utils.make_config(config_cls, config, where=f"{agent_type} config")
  if not isinstance(policy, models.PolicyModel):
    raise TypeError(f"policy must come from create_policy_model; got {type(policy).__name__}")
  objective = objective_fn(config)
  if objective.critic == "none":
    critic = None
  elif not isinstance(critic, models.QCritic):
    raise ValueError(f"agent_type={agent_type!r} needs a critic from create_q_critic; got "
                     f"{type(critic).__name__}")
  if agent_type == "diffusion_rl" and policy.kind != "diffusion":
    raise ValueError(f"agent_type='diffusion_rl' needs a diffusion policy; got "
                     f"{policy.kind!r} (use 'offline_rl' for any policy class)")
  if critic is not None and critic.shape_meta.action_shape != policy.shape_meta.action_shape:
    raise ValueError(f"policy actions {policy.shape_meta.action_shape} and critic actions "
                     f"{critic.shape_meta.action_shape} differ")
  networks = networks_lib.AgentNetworks(policy=policy.network,
                                        critic=None if critic is None else critic.network)
  fns = _functions(networks, config, objective)
  state = update_lib.init_state(policy.params, None if critic is None else critic.params,
                                config, jax.random.PRNGKey(int(seed)))
  return cls(policy_model=policy, critic_model=critic, config=config, state=state,
             functions=fns)


def to_online(agent: Agent, config: Any = None) -> ActorCriticAgent:
  """The offline->online switch: same parameters, fresh optimizer moments
  (when ``config.reset_optimizers``) and the fine-tuning learning rates."""
  config = config_utils.make_config(
      parl_config.ActorCriticConfig, config, where="actor_critic config")
  online = create_agent("actor_critic", agent.policy, agent.critic, seed=0, config=config)
  state = agent.state
  if config.reset_optimizers:
    fresh = online.state
    state = state._replace(policy_opt_state=fresh.policy_opt_state,
                           critic_opt_state=fresh.critic_opt_state)
  return online.replace(state=state)
