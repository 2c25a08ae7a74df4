"""`finetune_online`: PA-RL online fine-tuning from an offline run, resumable.

The offline->online switch follows the reference (and
`pa_rl.agents.functional.to_online`): the same parameters (policy, EMA,
critic and target critic), fresh optimizer moments, the fine-tuning learning
rate, then batches mixed from the offline data and a replay buffer of the
agent's own episodes, ``utd_ratio`` updates per new transition.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Callable, Mapping

from absl import logging
import numpy as np

from pa_rl import metrics_writer
from pa_rl import progress
from pa_rl.agents import parl
from pa_rl.runners import checkpoints
from pa_rl.runners import common
from pa_rl.runners import episodes as episodes_lib
from pa_rl.runners import spec as spec_lib

# Fields of ActorCriticConfig whose online default replaces the offline value
# (the reference distills optimized actions online even where the offline
# phase only imitated the data).
_ONLINE_DEFAULTS = ("policy_lr", "distill_source")
# Counters saved beside the replay buffer in each checkpoint.
_COUNTERS = ("size", "insert_index", "total_inserted", "episode", "env_steps")


def online_config(offline_config: Any, overrides: Any) -> parl.ActorCriticConfig:
  """The fine-tuning config: the offline agent's settings, the online
  defaults of `ActorCriticConfig` (policy lr 5e-5, 50/50 batches, UTD 1),
  then ``overrides`` (a dict; an ``action_optimization`` dict is merged into
  the offline one). A full `ActorCriticConfig` is used as it is."""
  if isinstance(overrides, parl.ActorCriticConfig):
    return spec_lib.resolve_config(parl.ActorCriticConfig, overrides, "agent_config",
                                   "finetune_online")
  if overrides is not None and not isinstance(overrides, Mapping):
    raise TypeError(f"finetune_online's agent_config must be a dict of overrides or an "
                    f"ActorCriticConfig; got {type(overrides).__name__}")
  names = {f.name for f in dataclasses.fields(parl.ActorCriticConfig)}
  base = {f.name: getattr(offline_config, f.name) for f in dataclasses.fields(offline_config)
          if f.name in names and f.name not in _ONLINE_DEFAULTS}
  overrides = dict(overrides or {})
  if isinstance(overrides.get("action_optimization"), Mapping) and "action_optimization" in base:
    overrides["action_optimization"] = {
        **dataclasses.asdict(base["action_optimization"]), **overrides["action_optimization"]}
  return spec_lib.resolve_config(parl.ActorCriticConfig, {**base, **overrides},
                                 "agent_config", "finetune_online")


def finetune_online(workdir: str,
                    offline_workdir: str | None = None,
                    num_episodes: int = 100,
                    agent_config: Any = None,
                    env_name: str | None = None,
                    env_kwargs: Mapping[str, Any] | None = None,
                    log_every: int = 1,
                    eval_every: int = 10,
                    eval_episodes: int = 10,
                    checkpoint_every: int = 10,
                    keep_checkpoints: int = 3,
                    seed: int = 0,
                    num_workers: int = 0,
                    ray_address: str | None = None,
                    on_start: Callable[[], None] | None = None,
                    after_first_step: Callable[[], None] | None = None) -> dict[str, Any]:
  """Fine-tunes a PA-RL agent trained by `train_offline`, online.

  Each episode: act with action optimization (a softmax(Q) sample over the
  optimized candidates), insert the episode's transitions into the replay
  buffer, then ``utd_ratio`` updates per new transition on mixed batches.

  Writes into ``workdir``: ``experiment.json``, ``checkpoints/`` (learner,
  replay buffer and counters), ``online.csv`` (one row per ``log_every``
  episodes: return, success, environment steps, losses), ``eval.csv`` and
  ``tensorboard/``. Re-running with the same workdir resumes (the
  environment's random stream restarts from a seed derived from the episode
  count); a finished run does not train again.

  Args:
    workdir: this run's directory.
    offline_workdir: the `train_offline` workdir to start from (its newest
      loadable checkpoint). Its agent must be a PA-RL agent (offline_rl or
      diffusion_rl).
    num_episodes: total online episodes.
    agent_config: a dict of `ActorCriticConfig` overrides (e.g.
      ``{'utd_ratio': 2}``) or a whole `ActorCriticConfig`.
    env_name: None: the offline run's environment.
    env_kwargs: None: the offline run's.
    log_every: episodes between rows of ``online.csv``.
    eval_every: episodes between evaluations (and one before fine-tuning
      and one at the end); 0 disables them.
    eval_episodes: episodes per evaluation.
    checkpoint_every: episodes between checkpoints (and one at the end).
    keep_checkpoints: how many checkpoints to keep.
    seed: seeds the environment, exploration and sampling.
    num_workers: 0 acts in this process; > 0 acts in that many environment
      workers on Ray (`pa_rl.runners.episodes.RayEpisodes`), episodes consumed
      as they finish, the same ``utd_ratio``.
    ray_address: the Ray cluster to join (None: start a local instance).
    on_start: called once the workdir is held and the run accepted (the
      binaries write ``config.gin`` then).
    after_first_step: called once after the first update of this process.
  """
  if not workdir:
    raise ValueError("finetune_online needs a workdir")
  if not offline_workdir:
    raise ValueError("finetune_online needs offline_workdir, the train_offline workdir to "
                     "start from: pass --offline_workdir=... (or bind "
                     "finetune_online.offline_workdir)")
  for name, value, minimum in (("num_episodes", num_episodes, 0), ("log_every", log_every, 1),
                               ("eval_every", eval_every, 0),
                               ("checkpoint_every", checkpoint_every, 1), ("seed", seed, 0),
                               ("num_workers", num_workers, 0)):
    common.check_int(name, value, minimum)
  offline_workdir = os.path.abspath(offline_workdir)
  if os.path.abspath(workdir) == offline_workdir:
    raise ValueError("finetune_online's workdir must differ from offline_workdir")
  offline_spec = spec_lib.read_spec(offline_workdir)
  if offline_spec is None:
    raise FileNotFoundError(f"offline_workdir {offline_workdir} holds no {spec_lib.SPEC_FILE}; "
                            "train it first with python -m pa_rl.binaries.train_offline")
  if offline_spec.agent_type not in spec_lib.PARL_AGENT_TYPES or offline_spec.phase != "offline":
    raise ValueError(f"offline_workdir {offline_workdir} trained agent_type="
                     f"{offline_spec.agent_type!r} ({offline_spec.phase}); online fine-tuning "
                     f"starts from a PA-RL offline run: {', '.join(spec_lib.PARL_AGENT_TYPES)}")
  config = online_config(offline_spec.agent_config, agent_config)
  spec = dataclasses.replace(
      offline_spec, phase="online", agent_type="actor_critic", agent_config=config,
      env_name=env_name or offline_spec.env_name,
      env_kwargs=dict(offline_spec.env_kwargs if env_kwargs is None else env_kwargs),
      offline_workdir=offline_workdir)
  if not spec.env_name:
    raise ValueError("finetune_online needs an environment: bind finetune_online.env_name")
  with common.WorkdirLock(workdir):
    checkpointer = checkpoints.for_run(workdir, keep_checkpoints, "num_episodes",
                                       num_episodes)
    dataset = spec.load_dataset(seed)
    spec_lib.write_spec(workdir, spec)
    if on_start is not None:
      on_start()
    meta = dataset.shape_meta
    builder = spec.make_builder(meta)
    learner = builder.make_learner(dataset, seed=seed,
                                   replay=builder.make_replay(meta, config.replay_capacity, seed),
                                   online_fraction=config.online_fraction)
    template = {"storage": learner.replay.storage,
                "counters": np.zeros(len(_COUNTERS), np.int64)}
    ckpt_step, extra = checkpointer.restore(learner, extra_template=template)
    if ckpt_step is None:
      offline_step = _start_from_offline(offline_spec, offline_workdir, learner, dataset, config,
                                         seed)
      counters = dict.fromkeys(_COUNTERS, 0)
      common.announce(f"Starting online fine-tuning from {offline_workdir} (offline step "
                      f"{offline_step}) in {spec.env_name}; workdir {workdir}")
    else:
      counters = dict(zip(_COUNTERS, (int(c) for c in np.asarray(extra["counters"]))))
      learner.replay = dataclasses.replace(
          learner.replay, storage=extra["storage"], size=counters["size"],
          insert_index=counters["insert_index"], total_inserted=counters["total_inserted"])
    episode = counters["episode"]
    if episode >= num_episodes:
      common.announce(f"The run in {workdir} already finished: {episode} of "
                      f"num_episodes={num_episodes} episodes done. Nothing to train (raise "
                      "num_episodes to train further).")
      return {"episode": episode, "step": ckpt_step, "finished_before": True}
    if ckpt_step is not None:
      common.announce(f"Resuming from the checkpoint at step {ckpt_step} (episode {episode}, "
                      f"{learner.replay.size} transitions in the replay buffer).")

    if num_workers:
      source = episodes_lib.RayEpisodes(spec, meta, episodes_lib.variables_of(learner),
                                        num_workers=num_workers, seed=seed, episode=episode,
                                        address=ray_address)
      common.announce(f"Acting with {num_workers} Ray environment workers.")
    else:
      source = episodes_lib.LocalEpisodes(builder, learner, meta, spec.env_name, spec.env_kwargs,
                                          seed=seed, episode=episode, n_step=spec.n_step)
    step = int(learner.state.step)
    writer = metrics_writer.MetricsWriter(workdir, resume_step=step)
    evaluator = None
    if eval_every:
      evaluator = common.Evaluator(builder, learner, meta, spec.env_name, spec.env_kwargs,
                                   eval_episodes, seed)
    eval_metrics: dict[str, float] = {}
    row: dict[str, float] = {}
    if evaluator is not None and episode == 0:
      eval_metrics = evaluator()
      writer.write("eval", step, eval_metrics)
      logging.info("online start: %s", common.headline(eval_metrics))
    first_step = common.call_once(after_first_step)
    rate = common.RateMeter(step)
    env_steps = counters["env_steps"]
    try:
      for episode in progress.progress(range(episode + 1, num_episodes + 1),
                                       desc="finetune_online"):
        stats, transitions = source.next()
        buffer, new = learner.replay, 0
        for batch in transitions:
          buffer = buffer.insert(batch)
          new += len(batch.reward)
        learner.replay = buffer
        for _ in range(new * config.utd_ratio):
          learner.step()
          first_step()
        source.publish(episodes_lib.variables_of(learner))
        env_steps += int(stats["length"])
        step = int(learner.state.step)
        last = episode == num_episodes
        if episode % log_every == 0 or last:
          row = {"online/return": stats["return"], "online/length": stats["length"],
                 "online/env_steps": env_steps, "online/episode": episode,
                 "online/replay_size": learner.replay.size,
                 "train/steps_per_sec": rate(step), **learner.metrics}
          if not np.isnan(stats["success"]):
            row["online/success"] = stats["success"]
          writer.write("online", step, row)
          logging.info("episode %d (step %d): %s", episode, step, common.headline(row))
        if evaluator is not None and (episode % eval_every == 0 or last):
          eval_metrics = {**evaluator(), "online/env_steps": env_steps}
          writer.write("eval", step, eval_metrics)
          logging.info("episode %d (step %d): %s", episode, step, common.headline(eval_metrics))
        if episode % checkpoint_every == 0 or last:
          learner.flush()
          buffer = learner.replay
          counts = (buffer.size, buffer.insert_index, buffer.total_inserted, episode, env_steps)
          checkpointer.save(learner, step, {"storage": buffer.storage,
                                            "counters": np.asarray(counts, np.int64)})
    except KeyboardInterrupt:
      common.announce_interrupt(f"episode {episode} (learner step {step})", checkpointer)
      raise
    finally:
      source.close()
      writer.close()
    done = (f"Finished {num_episodes} online episodes ({env_steps} environment steps, learner "
            f"step {step}); checkpoint {checkpointer.path(step)}")
    if "eval/success" in eval_metrics:
      done += f"; evaluation success rate {eval_metrics['eval/success']:.1%}"
    elif "eval/return" in eval_metrics:
      done += f"; evaluation return {eval_metrics['eval/return']:.3f}"
    common.announce(done)
    return {"episode": num_episodes, "step": step, "finished_before": False,
            "online": row, "eval": eval_metrics}


def _start_from_offline(offline_spec: spec_lib.ExperimentSpec, offline_workdir: str,
                        learner, dataset, config: parl.ActorCriticConfig, seed: int) -> int:
  """Loads the offline run's newest checkpoint into the online learner."""
  offline_learner = offline_spec.make_builder(dataset.shape_meta).make_learner(dataset,
                                                                               seed=seed)
  step, _ = checkpoints.Checkpointer(os.path.join(offline_workdir, "checkpoints")).restore(
      offline_learner)
  if step is None:
    raise FileNotFoundError(f"offline_workdir {offline_workdir} has no loadable checkpoint; "
                            "train it first with python -m pa_rl.binaries.train_offline")
  state = offline_learner.state
  if config.reset_optimizers:  # The reference resets the moments at the switch.
    fresh = learner.state
    state = state._replace(policy_opt_state=fresh.policy_opt_state,
                           critic_opt_state=fresh.critic_opt_state)
  learner.restore({"state": state, "dataset_key": learner.dataset.key})
  return step
