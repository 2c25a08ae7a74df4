"""lerobot-jax: Policy-Agnostic RL in JAX.

    import pa_rl as ljx
    dataset = ljx.OfflineDataset.load_from_path(path, normalize=True, seed=0)
    policy = ljx.create_policy_model("diffusion", 0, dataset.shape_meta, None)
    critic = ljx.create_q_critic("ensemble", 1, dataset.shape_meta, None)
    agent = ljx.create_agent("diffusion_rl", policy, critic, 2, None)

The names below are imported on first use, so ``import pa_rl.environments``
(e.g. in a process that renders MuJoCo, which cannot share a process with
TensorFlow) does not pull in JAX, Haiku or TensorFlow.
"""

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "ActionOptimizationConfig": "pa_rl.action_optimization",
    "ActorCriticAgent": "pa_rl.agents",
    "Agent": "pa_rl.agents",
    "CalQLAgent": "pa_rl.agents",
    "DiffusionPolicyRLAgent": "pa_rl.agents",
    "IQLAgent": "pa_rl.agents",
    "ImitationAgent": "pa_rl.agents",
    "OfflineRLAgent": "pa_rl.agents",
    "SACAgent": "pa_rl.agents",
    "create_agent": "pa_rl.agents",
    "to_online": "pa_rl.agents",
    "PAModule": "pa_rl.core",
    "OfflineDataset": "pa_rl.datasets",
    "ReplayBuffer": "pa_rl.datasets",
    "sample_mixed": "pa_rl.datasets",
    "AutoregressivePolicy": "pa_rl.models",
    "DiffusionPolicy": "pa_rl.models",
    "FlowPolicy": "pa_rl.models",
    "DistributionalQCritic": "pa_rl.models",
    "EnsembleQCritic": "pa_rl.models",
    "GaussianPolicy": "pa_rl.models",
    "PolicyModel": "pa_rl.models",
    "QCritic": "pa_rl.models",
    "create_policy_model": "pa_rl.models",
    "create_q_critic": "pa_rl.models",
    "ObsSpec": "pa_rl.types",
    "ShapeMeta": "pa_rl.types",
    "Transition": "pa_rl.types",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
  module = _EXPORTS.get(name)
  if module is None:
    raise AttributeError(f"module 'pa_rl' has no attribute {name!r}")
  value = getattr(importlib.import_module(module), name)
  globals()[name] = value
  return value


def __dir__() -> list[str]:
  return sorted(set(globals()) | set(_EXPORTS))
