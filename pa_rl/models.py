"""The seed-facing policy and critic modules.

`create_policy_model` and `create_q_critic` build a network by type name,
initialize its parameters from an integer seed and wrap both in an immutable
`PAModule`. The methods are thin conveniences over the network's pure
functions (jitted, cached per network function); agents use the pure
functions directly inside their own jitted update.
"""

from __future__ import annotations

import dataclasses
import functools
import numbers
from typing import Any, Callable, Mapping, Optional

import jax

from pa_rl import core
from pa_rl import types
from pa_rl.networks import base
from pa_rl.networks import registry

@functools.lru_cache(maxsize=256)
def _jitted(fn: Callable, static_argnames: tuple[str, ...] = ()) -> Callable:
  """One `jax.jit` wrapper per pure function, so that modules rebuilt by
  `replace` (new params, same network) reuse the compiled code."""
  return jax.jit(fn, static_argnames=static_argnames)


@dataclasses.dataclass(frozen=True)
class NetworkModule(core.PAModule):
  """A network's pure functions and their parameters (policies and critics).

  Attributes:
    network: the `PolicyNetwork` or `CriticNetwork`.
    params: its parameters (for diffusion policies, the ones sampling should
      use: the learner's EMA copy when it keeps one).
    config: the resolved network config dataclass.
    shape_meta: the data description the network was built for.
  """
  network: Any
  params: types.Params
  config: Any
  shape_meta: types.ShapeMeta

  @property
  def kind(self) -> str:
    return self.network.kind


class PolicyModel(NetworkModule):
  """A policy; ``network`` is a `base.PolicyNetwork`."""

  @property
  def uses_ema(self) -> bool:
    return self.network.uses_ema

  def sample(self, key: types.PRNGKey, obs: types.Observation,
             num_samples: int = 1, **kwargs) -> jax.Array:
    """``[B, num_samples, *action_shape]`` actions; ``kwargs`` are the
    network's (``deterministic``, ``temperature``, ``guidance_fn``,
    ``guidance_scale``). Jitted; ``num_samples``, ``deterministic`` and
    ``guidance_fn`` are static."""
    fn = _jitted(self.network.sample,
                 ("num_samples", "deterministic", "guidance_fn"))
    return fn(self.params, key, obs, num_samples=num_samples, **kwargs)

  def loss(self, key: types.PRNGKey, obs: types.Observation, actions: jax.Array,
           weights: Optional[jax.Array] = None) -> tuple[jax.Array, base.Metrics]:
    """The policy's own supervised loss and its metrics."""
    return _jitted(self.network.loss)(self.params, key, obs, actions, weights)

  def log_prob(self, obs: types.Observation, actions: jax.Array) -> jax.Array:
    """``log pi(a|s)`` ``[B]``, for classes with a tractable density."""
    if self.network.log_prob is None:
      raise ValueError(f"a {self.kind} policy has no tractable log_prob; only "
                       "gaussian policies have one")
    return _jitted(self.network.log_prob)(self.params, obs, actions)


class GaussianPolicy(PolicyModel):
  """A tanh-squashed Gaussian policy."""


class DiffusionPolicy(PolicyModel):
  """A DDPM diffusion policy (keep EMA params for sampling)."""


class FlowPolicy(PolicyModel):
  """A conditional flow-matching policy (K Euler steps; EMA params by default)."""


class AutoregressivePolicy(PolicyModel):
  """An autoregressive transformer over binned action dimensions."""


class QCritic(NetworkModule):
  """A Q-ensemble; ``network`` is a `base.CriticNetwork`."""

  @property
  def num_members(self) -> int:
    return self.network.num_members

  def q_values(self, obs: types.Observation, actions: jax.Array) -> jax.Array:
    """``[E, B]``, one Q per member."""
    return _jitted(self.network.q_values)(self.params, obs, actions)

  def target_q(self, key: types.PRNGKey, obs: types.Observation,
               actions: jax.Array) -> jax.Array:
    """``[B]``, the min over a random subset of members."""
    return _jitted(self.network.target_q)(self.params, key, obs, actions)

  def action_grad(self, obs: types.Observation, actions: jax.Array,
                  reduce: str = "mean") -> jax.Array:
    """``d/da`` of the member-reduced Q, ``[B, *action_shape]``."""
    fn = _jitted(self.network.action_grad, ("reduce",))
    return fn(self.params, obs, actions, reduce=reduce)

  def loss(self, obs: types.Observation, actions: jax.Array,
           target_q: jax.Array) -> tuple[jax.Array, base.Metrics]:
    """The members' TD loss onto ``target_q`` and its metrics."""
    return _jitted(self.network.loss)(self.params, obs, actions, target_q)

  def value(self, obs: types.Observation) -> jax.Array:
    """``[B]``, the state-value head (built with ``value_head=True``)."""
    if self.network.value is None:
      raise ValueError(
          "this critic has no value head; build it with config "
          "{'value_head': True}")
    return _jitted(self.network.value)(self.params, obs)


class EnsembleQCritic(QCritic):
  """An ensemble of scalar Q-functions (MSE TD loss)."""


class DistributionalQCritic(QCritic):
  """An ensemble of categorical Q-functions (HL-Gauss / C51 cross-entropy)."""


_POLICY_CLASSES = {
    "gaussian": GaussianPolicy,
    "diffusion": DiffusionPolicy,
    "autoregressive": AutoregressivePolicy,
    "flow": FlowPolicy,
}
_CRITIC_CLASSES = {
    "ensemble": EnsembleQCritic,
    "distributional": DistributionalQCritic,
}


def _key(seed: int | jax.Array) -> jax.Array:
  """An int seed becomes ``PRNGKey(seed)``; a PRNG key passes through."""
  if isinstance(seed, numbers.Integral):
    return jax.random.PRNGKey(int(seed))
  return seed


def create_policy_model(policy_type: str, seed: int,
                        shape_meta: types.ShapeMeta | Mapping[str, Any],
                        config: Any = None) -> PolicyModel:
  """Builds and initializes a policy.

  Args:
    policy_type: ``"gaussian"``, ``"diffusion"``, ``"flow"`` or ``"autoregressive"``.
    seed: an int seed for ``jax.random.PRNGKey`` (a PRNG key also works).
    shape_meta: a `ShapeMeta` or its dict form.
    config: None, a partial dict of the type's config fields, or the config
      dataclass.

  Raises:
    ValueError: an unknown ``policy_type`` or config key (the message lists
      the valid ones), or an invalid config value.
  """
  shape_meta = types.as_shape_meta(shape_meta)
  network, config = registry.make_policy_network(policy_type, shape_meta, config)
  # Jitted: one compilation beats op-by-op Haiku initialization.
  params = jax.jit(network.init)(_key(seed), shape_meta.dummy_observation())
  cls = _POLICY_CLASSES.get(policy_type, PolicyModel)
  return cls(network=network, params=params, config=config,
             shape_meta=shape_meta)


def create_q_critic(critic_type: str, seed: int,
                    shape_meta: types.ShapeMeta | Mapping[str, Any],
                    config: Any = None) -> QCritic:
  """Builds and initializes a Q-critic (``"ensemble"`` or
  ``"distributional"``); arguments as in `create_policy_model`."""
  shape_meta = types.as_shape_meta(shape_meta)
  network, config = registry.make_critic_network(critic_type, shape_meta, config)
  params = jax.jit(network.init)(_key(seed), shape_meta.dummy_observation(),
                                 shape_meta.dummy_action())
  cls = _CRITIC_CLASSES.get(critic_type, QCritic)
  return cls(network=network, params=params, config=config,
             shape_meta=shape_meta)
