"""Policy and critic types by name: each maps to its config class and
network builder. Agents and gin files pick networks through these tables, so
an unknown name fails with the list of valid ones."""

from __future__ import annotations

from typing import Any, Callable, Mapping

from pa_rl import config_utils
from pa_rl import types
from pa_rl.networks import autoregressive
from pa_rl.networks import base
from pa_rl.networks import configs
from pa_rl.networks import diffusion
from pa_rl.networks import distributional_critic
from pa_rl.networks import ensemble_critic
from pa_rl.networks import flow
from pa_rl.networks import gaussian

POLICIES: dict[str, tuple[type, Callable[..., base.PolicyNetwork]]] = {
    "gaussian": (configs.GaussianPolicyConfig, gaussian.make_gaussian_policy),
    "diffusion": (configs.DiffusionPolicyConfig, diffusion.make_diffusion_policy),
    "autoregressive": (configs.AutoregressivePolicyConfig,
                       autoregressive.make_autoregressive_policy),
    "flow": (configs.FlowPolicyConfig, flow.make_flow_policy),
}

CRITICS: dict[str, tuple[type, Callable[..., base.CriticNetwork]]] = {
    "ensemble": (configs.EnsembleCriticConfig, ensemble_critic.make_ensemble_critic),
    "distributional": (configs.DistributionalCriticConfig,
                       distributional_critic.make_distributional_critic),
}


def _lookup(table: Mapping[str, Any], name: str, what: str):
  if name not in table:
    raise ValueError(f"{what}={name!r} is unknown; choose one of: "
                     f"{', '.join(sorted(table))}")
  return table[name]


def policy_config_class(policy_type: str) -> type:
  """The config dataclass of ``policy_type``."""
  return _lookup(POLICIES, policy_type, "policy_type")[0]


def critic_config_class(critic_type: str) -> type:
  """The config dataclass of ``critic_type``."""
  return _lookup(CRITICS, critic_type, "critic_type")[0]


def make_policy_network(policy_type: str,
                        shape_meta: types.ShapeMeta | Mapping[str, Any],
                        config: Any = None) -> tuple[base.PolicyNetwork, Any]:
  """Builds the named policy network.

  Args:
    policy_type: one of `POLICIES`.
    shape_meta: a `ShapeMeta` or its dict form.
    config: None, a partial dict of the type's config fields, or the config.

  Returns:
    ``(network, config)`` with the resolved config dataclass.
  """
  config_cls, builder = _lookup(POLICIES, policy_type, "policy_type")
  config = config_utils.make_config(config_cls, config,
                                    where=f"{policy_type} policy config")
  return builder(types.as_shape_meta(shape_meta), config), config


def make_critic_network(critic_type: str,
                        shape_meta: types.ShapeMeta | Mapping[str, Any],
                        config: Any = None) -> tuple[base.CriticNetwork, Any]:
  """Builds the named critic network; returns ``(network, config)``."""
  config_cls, builder = _lookup(CRITICS, critic_type, "critic_type")
  config = config_utils.make_config(config_cls, config,
                                    where=f"{critic_type} critic config")
  return builder(types.as_shape_meta(shape_meta), config), config
