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
from pa_rl.datasets import collection
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
               get_agent: Callable[[], functional.Agent] | None = None,
               n_step: int = 1, discount: float | None = None) -> acting.Actor:
  """An Acme actor that acts like ``agent.act`` (reads ``get_agent()`` on update).

  ``on_episode_end`` receives each finished episode's transitions, with
  ``n_step``-step rewards discounted by ``discount`` (default: the agent's).
  """
  if discount is None:
    discount = getattr(agent.config, "discount", 0.99)
  return acting.Actor(agent.functions.act, AgentVariableSource(get_agent or (lambda: agent)),
                      agent.shape_meta, seed=seed, evaluation=evaluation,
                      guidance_scale=guidance_scale, discount=discount, n_step=n_step,
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
  Online transitions are built like the dataset's (its ``n_step`` and
  ``discount``), so every batch holds backups of one kind.
  """
  agent = functional.to_online(agent, config)
  config = agent.config
  buffer = replay_lib.ReplayBuffer.create(dataset.shape_meta, config.replay_capacity, seed=seed)
  pending = []
  holder = {"agent": agent}
  actor = make_actor(agent, seed=seed, evaluation=False, on_episode_end=pending.append,
                     get_agent=lambda: holder["agent"], n_step=dataset.n_step,
                     discount=dataset.discount)
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


class AgentBehaviour(environments.BehaviourPolicy):
  """A functional agent as a data-collecting policy (`collection.collect`'s
  ``behaviour``): a policy sample per step, or the mode with
  ``evaluation=True``. With ``get_agent`` it acts with that agent's newest
  parameters after each `actor.update()`."""

  def __init__(self, agent: functional.Agent, seed: int = 0, evaluation: bool = False,
               get_agent: Callable[[], functional.Agent] | None = None):
    super().__init__(np.random.default_rng(seed))
    self.actor = make_actor(agent, seed=seed, evaluation=evaluation, get_agent=get_agent)

  def begin_episode(self) -> None:
    self.actor.observe_first(dm_env.restart(None))  # Drops a half-played chunk.

  def select_action(self, observation) -> np.ndarray:
    return self.actor.select_action(observation)


def train_online(agent: functional.Agent, env: dm_env.Environment, *, num_steps: int,
                 seed: int = 0, start_steps: int = 5_000, utd_ratio: int = 1,
                 replay_capacity: int = 1_000_000,
                 on_episode: Callable[[int, dict, dict, functional.Agent], None] | None = None
                 ) -> functional.Agent:
  """Online RL from scratch (e.g. a ``"sac"`` agent built on
  `collection.shape_meta_for(env)`).

  Runs whole episodes until ``num_steps`` environment steps: uniform random
  actions for the first ``start_steps`` steps, then policy samples. After each
  episode its transitions go into a `ReplayBuffer` and the agent takes
  ``utd_ratio`` updates per new transition on uniform replay batches.

  Args:
    agent: the agent to train (its ``shape_meta`` maps env units to network
      units; its config gives the batch size and discount).
    env: the environment.
    num_steps: environment steps (the last episode is played to its end).
    seed: seeds the exploration and the replay sampling.
    start_steps: initial steps of uniform random actions.
    utd_ratio: updates per environment step.
    replay_capacity: replay buffer size in transitions.
    on_episode: ``on_episode(index, stats, steps, agent)`` after each
      episode's updates; ``stats`` has the return, length, success and
      environment steps so far, ``steps`` the episode's RLDS step fields (to
      record it), ``agent`` the agent after those updates (to snapshot it).

  Returns:
    The trained agent.
  """
  if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps < 1:
    raise ValueError(f"num_steps must be an int >= 1; got {num_steps!r}")
  if isinstance(utd_ratio, bool) or not isinstance(utd_ratio, int) or utd_ratio < 1:
    raise ValueError(f"utd_ratio must be an int >= 1; got {utd_ratio!r}")
  if start_steps < 0:
    raise ValueError(f"start_steps must be >= 0; got {start_steps!r}")
  if agent.critic_model is None:
    raise ValueError(f"train_online needs an agent with a critic; got {type(agent).__name__}")
  meta = agent.shape_meta
  warm_up = environments.RandomPolicy(env.action_spec(), np.random.default_rng(seed))
  buffer = replay_lib.ReplayBuffer.create(meta, replay_capacity, seed=seed)
  holder = {"agent": agent}
  policy = AgentBehaviour(agent, seed=seed, get_agent=lambda: holder["agent"])
  discount = getattr(agent.config, "discount", 0.99)
  env_steps, episode = 0, 0
  while env_steps < num_steps:
    explore = env_steps < start_steps
    policy.begin_episode()
    select = warm_up.select_action if explore else policy.select_action
    steps, summary = collection.run_episode(env, select)
    if summary["length"] == 0:
      raise ValueError("the environment ended an episode at reset (no step taken); "
                       "train_online needs episodes of at least one step")
    buffer = buffer.insert(acting.episode_transitions(steps, meta, discount))
    env_steps += summary["length"]
    for _ in range(summary["length"] * utd_ratio):
      buffer, batch = buffer.sample(holder["agent"].config.batch_size)
      state, _ = holder["agent"].functions.update(holder["agent"].state, batch)
      holder["agent"] = holder["agent"].replace(state=state)
    policy.actor.update()
    if on_episode is not None:
      stats = {"return": summary["return"], "length": float(summary["length"]),
               "success": float(summary["success"]) if summary["has_success"] else float("nan"),
               "env_steps": env_steps, "random_actions": explore}
      on_episode(episode, stats, steps, holder["agent"])
    episode += 1
  return holder["agent"]
