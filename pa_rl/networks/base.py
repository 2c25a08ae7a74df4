"""The contracts every policy and critic network honours.

A network is a frozen dataclass of pure functions. The agents only ever call
these functions, which is what makes PA-RL policy-agnostic: adding a policy
class touches `networks/` and one gin file, never `agents/`.

Shapes: ``obs`` is a dict of arrays with a leading batch axis ``B``;
actions are ``[B, *shape_meta.action_shape]`` in normalized units ``[-1, 1]``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Optional

import jax

from pa_rl import types

Metrics = dict[str, jax.Array]
# guidance_fn(obs, actions) -> d/da of the critic's Q, same shape as actions.
GuidanceFn = Callable[[types.Observation, jax.Array], jax.Array]


@dataclasses.dataclass(frozen=True)
class PolicyNetwork:
  """A policy class as pure functions.

  Attributes:
    init: ``init(key, obs) -> params``.
    sample: ``sample(params, key, obs, num_samples, *, deterministic=False,
      temperature=1.0, guidance_fn=None, guidance_scale=0.0) -> actions``
      with shape ``[B, num_samples, *action_shape]``, inside ``[-1, 1]``.
      ``deterministic`` asks for the mode (Gaussian: tanh(mean); diffusion:
      no injected noise; autoregressive: argmax tokens). ``guidance_fn`` and
      ``guidance_scale`` steer sampling toward high Q where the policy class
      supports it (diffusion: added at each denoising step; the others ignore
      it, and the agents' action optimization does the steering).
    loss: ``loss(params, key, obs, actions, weights=None) -> (scalar,
      metrics)``, the policy's own supervised loss, a weighted mean over the
      batch when ``weights`` ``[B]`` is given.
    shape_meta: the data description it was built for.
    kind: the policy type name (``"gaussian"``, ``"diffusion"``, ...).
    log_prob: ``log_prob(params, obs, actions) -> [B]`` where the class has a
      tractable density (Gaussian), else None.
    uses_ema: whether the learner should keep EMA parameters for sampling.
  """
  init: Callable[..., Any]
  sample: Callable[..., jax.Array]
  loss: Callable[..., tuple[jax.Array, Metrics]]
  shape_meta: types.ShapeMeta
  kind: str
  log_prob: Optional[Callable[..., jax.Array]] = None
  uses_ema: bool = False


@dataclasses.dataclass(frozen=True)
class CriticNetwork:
  """A Q-critic ensemble as pure functions.

  Attributes:
    init: ``init(key, obs, actions) -> params``.
    q_values: ``q_values(params, obs, actions) -> [E, B]``, one expected Q
      per ensemble member.
    loss: ``loss(params, obs, actions, target_q) -> (scalar, metrics)``, the
      TD regression of every member onto ``target_q`` ``[B]`` (MSE for the
      ensemble critic, HL-Gauss / C51 cross-entropy for the distributional
      critic), summed over members and averaged over the batch.
    target_q: ``target_q(params, key, obs, actions) -> [B]``, the pessimistic
      bootstrap value: min over a random subset of members.
    action_grad: ``action_grad(params, obs, actions, reduce="mean") ->
      [B, *action_shape]``, the gradient of the reduced (``"mean"`` or
      ``"min"`` over members) Q with respect to each action.
    value: ``value(params, obs) -> [B]``, the state-value head (IQL), or
      None when the critic was built without one.
    num_members: E.
    shape_meta: the data description it was built for.
    kind: the critic type name.
  """
  init: Callable[..., Any]
  q_values: Callable[..., jax.Array]
  loss: Callable[..., tuple[jax.Array, Metrics]]
  target_q: Callable[..., jax.Array]
  action_grad: Callable[..., jax.Array]
  num_members: int
  shape_meta: types.ShapeMeta
  kind: str
  value: Optional[Callable[..., jax.Array]] = None
