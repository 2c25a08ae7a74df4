"""The networks an agent trains: a policy (any class) and an optional critic."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from pa_rl import types
from pa_rl.networks import base
from pa_rl.networks import registry


@dataclasses.dataclass(frozen=True)
class AgentNetworks:
  """Attributes:
    policy: the policy network.
    critic: the critic network, or None (imitation).
  """
  policy: base.PolicyNetwork
  critic: base.CriticNetwork | None = None


def make_networks(shape_meta: types.ShapeMeta | Mapping[str, Any], *,
                  policy_type: str = "diffusion", policy_config: Any = None,
                  critic_type: str | None = "ensemble", critic_config: Any = None,
                  value_head: bool = False) -> AgentNetworks:
  """Builds an agent's networks by type name (Acme: ``make_networks(spec)``).

  Args:
    shape_meta: the data description (``OfflineDataset.shape_meta``).
    policy_type: gaussian, diffusion, flow or autoregressive.
    policy_config: None, a partial dict or the policy's config dataclass.
    critic_type: ensemble, distributional, or None for no critic.
    critic_config: None, a partial dict or the critic's config dataclass.
    value_head: build the critic with a state-value head (IQL needs one).
  """
  shape_meta = types.as_shape_meta(shape_meta)
  policy, _ = registry.make_policy_network(policy_type, shape_meta, policy_config)
  critic = None
  if critic_type is not None:
    if value_head:
      critic_config = _with_value_head(critic_type, critic_config)
    critic, _ = registry.make_critic_network(critic_type, shape_meta, critic_config)
  return AgentNetworks(policy=policy, critic=critic)


def _with_value_head(critic_type: str, config: Any) -> Any:
  if config is None:
    return {"value_head": True}
  if isinstance(config, Mapping):
    return {**config, "value_head": True}
  return dataclasses.replace(config, value_head=True)
