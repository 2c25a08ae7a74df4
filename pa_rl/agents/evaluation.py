"""Evaluation episodes and the online fine-tuning loop of the functional face."""

from __future__ import annotations

from typing import Any, Callable

import dm_env
import numpy as np

from pa_rl import core
from pa_rl import environments
from pa_rl.agents import acting
from pa_rl.agents import functional
from pa_rl.agents import update as update_lib
from pa_rl.datasets import offline
from pa_rl.datasets import replay as replay_lib


class AgentVariableSource(core.VariableSource):
  """Serves a functional agent's current variables to an `Actor`."""

  def __init__(self, get_agent: Callable[[], functional.Agent]):
    self._get_agent = get_agent

  def get_variables(self, names):
    agent = self._get_agent()
    values = {"policy": update_lib.sampling_params(agent.policy_model.network, agent.state),
              "critic": agent.state.critic_params}
    return [values[n] for n in names]


def make_actor(agent: functional.Agent, *, seed: int = 0, evaluation: bool = True,
               guidance_scale: float = 0.0, on_episode_end=None,
               get_agent: Callable[[], functional.Agent] | None = None) -> acting.Actor:
  """An Acme actor that acts like ``agent.act`` (reads ``get_agent()`` on update)."""
  return acting.Actor(agent.functions.act, AgentVariableSource(get_agent or (lambda: agent)),
                      agent.shape_meta, seed=seed, evaluation=evaluation,
                      guidance_scale=guidance_scale,
                      discount=getattr(agent.config, "discount", 0.99),
                      on_episode_end=on_episode_end)


def run_episode(env: dm_env.Environment, actor: core.Actor, *,
                render: Callable[[], np.ndarray] | None = None,
                frames: list[np.ndarray] | None = None,
                actions: list[np.ndarray] | None = None) -> dict[str, float]:
  """One episode; returns its return, length and success (NaN if none).

  With ``render`` and a ``frames`` list, each frame (the first observation's
  and one per step) is appended to ``frames``; with an ``actions`` list, each
  action taken.
  """
  record = render is not None and frames is not None
  timestep = env.reset()
  actor.observe_first(timestep)
  if record:
    frames.append(render())
  total, length = 0.0, 0
  while not timestep.last():
    action = actor.select_action(timestep.observation)
    timestep = env.step(action)
    actor.observe(action, timestep)
    if actions is not None:
      actions.append(np.asarray(action))
    total += float(timestep.reward or 0.0)
    length += 1
    if record:
      frames.append(render())
  success = environments.episode_success(env)
  return {"return": total, "length": float(length),
          "success": float(success) if success is not None else float("nan")}


def evaluate(actor: core.Actor, env: dm_env.Environment, num_episodes: int) -> dict[str, float]:
  """Mean return, success rate and length over ``num_episodes`` episodes."""
  results = [run_episode(env, actor) for _ in range(num_episodes)]
  return {k: float(np.mean([r[k] for r in results])) for k in results[0]}


def finetune_online(agent: functional.Agent, env: dm_env.Environment,
                    dataset: offline.OfflineDataset, *, num_episodes: int, seed: int = 0,
                    config: Any = None, on_episode: Callable[[int, dict], None] | None = None
                    ) -> tuple[functional.ActorCriticAgent, offline.OfflineDataset]:
  """PA-RL online fine-tuning with the functional face.

  Switches the agent to `ActorCriticAgent` (fresh optimizer moments, the
  fine-tuning learning rate), then alternates: one exploration episode with
  action optimization, its transitions into a `ReplayBuffer`, and
  ``utd_ratio`` updates per new transition on mixed offline/online batches.
  """
  agent = functional.to_online(agent, config)
  config = agent.config
  buffer = replay_lib.ReplayBuffer.create(dataset.shape_meta, config.replay_capacity, seed=seed)
  pending = []
  holder = {"agent": agent}
  actor = make_actor(agent, seed=seed, evaluation=False, on_episode_end=pending.append,
                     get_agent=lambda: holder["agent"])
  for episode in range(num_episodes):
    stats = run_episode(env, actor)
    new_transitions = 0
    for transitions in pending:
      buffer = buffer.insert(transitions)
      new_transitions += len(transitions.reward)
    pending.clear()
    for _ in range(new_transitions * config.utd_ratio):
      dataset, buffer, batch = replay_lib.sample_mixed(
          dataset, buffer, config.batch_size, config.online_fraction)
      state, _ = agent.functions.update(holder["agent"].state, batch)
      holder["agent"] = holder["agent"].replace(state=state)
    actor.update()
    if on_episode is not None:
      on_episode(episode, stats)
  return holder["agent"], dataset
