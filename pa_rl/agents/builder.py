"""The builder that wires learner, actor and replay for one agent type."""

from __future__ import annotations

from typing import Any, Callable

from pa_rl import core
from pa_rl import types
from pa_rl.agents import acting
from pa_rl.agents import learner as learner_lib
from pa_rl.agents import networks as networks_lib
from pa_rl.agents import update as update_lib
from pa_rl.datasets import offline
from pa_rl.datasets import replay as replay_lib


class Builder:
  """Acme-style builder: one call per phase (learner, actor, replay).

  Subclasses set ``objective_for(config)``; the rest is shared, so every
  agent type is wired the same way.
  """

  def __init__(self, config: Any, networks: networks_lib.AgentNetworks):
    self._config = config
    self._networks = networks
    self.objective = self.objective_for(config)

  @staticmethod
  def objective_for(config: Any) -> update_lib.Objective:
    raise TypeError("Builder is abstract: use an agent's builder, e.g. PARLBuilder")

  @property
  def config(self) -> Any:
    return self._config

  @property
  def networks(self) -> networks_lib.AgentNetworks:
    return self._networks

  @property
  def uses_action_optimization(self) -> bool:
    return self.objective.policy == "distill"

  def make_learner(self, dataset: offline.OfflineDataset, *, seed: int = 0,
                   policy_params: Any = None, critic_params: Any = None,
                   replay: replay_lib.ReplayBuffer | None = None,
                   online_fraction: float = 0.0, mesh: Any = None,
                   devices: Any = None) -> learner_lib.Learner:
    """The learner; ``mesh`` / ``devices`` choose the data-parallel devices
    (default: all of them, see `pa_rl.agents.distributed`)."""
    return learner_lib.Learner(
        self._networks, self._config, self.objective, dataset, seed=seed,
        policy_params=policy_params, critic_params=critic_params, replay=replay,
        online_fraction=online_fraction, mesh=mesh, devices=devices)

  def make_policy_fn(self) -> acting.PolicyFn:
    ao_config = self._config.action_optimization if self.uses_action_optimization else None
    return acting.make_policy_fn(self._networks, ao_config)

  def make_actor(self, variable_source: core.VariableSource, shape_meta: types.ShapeMeta, *,
                 seed: int = 0, evaluation: bool = True, guidance_scale: float = 0.0,
                 n_step: int = 1,
                 on_episode_end: Callable[[types.Transition], None] | None = None
                 ) -> acting.Actor:
    return acting.Actor(
        self.make_policy_fn(), variable_source, shape_meta, seed=seed, evaluation=evaluation,
        guidance_scale=guidance_scale, discount=getattr(self._config, "discount", 0.99),
        n_step=n_step, on_episode_end=on_episode_end)

  def make_replay(self, shape_meta: types.ShapeMeta, capacity: int,
                  seed: int = 0) -> replay_lib.ReplayBuffer:
    return replay_lib.ReplayBuffer.create(shape_meta, capacity, seed=seed)
