"""`evaluate`: a run's checkpoint in its environment, with pictures."""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Callable, Mapping

from absl import logging
import numpy as np

from pa_rl import environments
from pa_rl import file_utils
from pa_rl import plots
from pa_rl import progress
from pa_rl.agents import diagnostics
from pa_rl.environments import rendering
from pa_rl.runners import checkpoints
from pa_rl.runners import common
from pa_rl.runners import rollouts
from pa_rl.runners import spec as spec_lib


def evaluate(workdir: str,
             num_episodes: int = 10,
             checkpoint_step: int | None = None,
             guidance_scale: float = 0.0,
             video_episodes: int = 1,
             video_fps: float = 15.0,
             video_max_frames: int = 300,
             env_name: str | None = None,
             env_kwargs: Mapping[str, Any] | None = None,
             seed: int = 0,
             output_dir: str | None = None,
             diagnostic_states: int = 2048,
             action_optimization: Mapping[str, Any] | None = None,
             after_first_step: Callable[[], None] | None = None) -> dict[str, Any]:
  """Evaluates the newest (or a given) checkpoint of a training workdir.

  Writes into ``output_dir`` (default ``<workdir>/eval``):
  ``eval_<step>.json`` (mean return, success rate, per-episode results),
  ``learning_curve.png`` (from the run's CSV logs) and ``rollout_<step>.gif``
  (the first ``video_episodes`` episodes). MuJoCo episodes are replayed for
  the video in a child process with an offscreen OpenGL backend (egl, else
  osmesa); without one the video is skipped with a message saying why.

  Args:
    workdir: a `train_offline` or `finetune_online` workdir.
    num_episodes: evaluation episodes.
    checkpoint_step: None: the newest loadable checkpoint.
    guidance_scale: critic guidance while sampling (0: none).
    video_episodes: episodes recorded into the GIF (0: no video).
    video_fps: frames per second of the GIF.
    video_max_frames: longer recordings are subsampled to this many frames.
    env_name: None: the run's environment.
    env_kwargs: None: the run's.
    seed: seeds the environment and the actor.
    output_dir: where the files go.
    diagnostic_states: for agents with a critic, this many states of the
      training data are examined by `agents.diagnostics.critic_diagnostics`
      (the critic's Q of the data's actions against the observed returns;
      the distance of the actions the agent chooses from the data's); the
      ``diagnostics/*`` numbers go into the results (0: skip).
    action_optimization: overrides of the agent's `ActionOptimizationConfig`
      for this evaluation, e.g. ``{'num_samples': 1, 'top_k': 1,
      'num_steps': 0}`` to act with the base policy alone, or a larger N;
      the results then go to ``<workdir>/eval_<overrides>`` by default, so
      the run's own evaluation is kept.
    after_first_step: called once after the first evaluation episode.
  """
  common.check_int("num_episodes", num_episodes, 1)
  common.check_int("video_episodes", video_episodes, 0)
  common.check_int("diagnostic_states", diagnostic_states, 0)
  if not (isinstance(guidance_scale, (int, float)) and 0 <= guidance_scale < float("inf")):
    raise ValueError(f"guidance_scale must be a finite number >= 0; got {guidance_scale!r}")
  spec = spec_lib.read_spec(workdir)
  if spec is None:
    raise FileNotFoundError(f"workdir {workdir} holds no {spec_lib.SPEC_FILE}: evaluate "
                            "reads the workdir of train_offline or finetune_online")
  env_name = env_name or spec.env_name
  if not env_name:
    raise ValueError("evaluate needs an environment: bind evaluate.env_name")
  env_kwargs = dict(spec.env_kwargs if env_kwargs is None else env_kwargs)
  if action_optimization:
    spec = _with_action_optimization(spec, action_optimization)
    default_dir = "eval_" + "_".join(f"{k}{v}" for k, v in sorted(action_optimization.items()))
  else:
    default_dir = "eval"
  output_dir = output_dir or os.path.join(workdir, default_dir)
  os.makedirs(output_dir, exist_ok=True)

  # Built-in tasks render in-process; MuJoCo episodes are recorded as actions
  # and replayed for the video in a child process (see environments.rendering).
  env_seed = seed + 1000
  in_process = video_episodes > 0 and rendering.is_builtin(env_name)
  if in_process:
    env, render = rendering.make_render_environment(env_name, env_seed, env_kwargs)
  else:
    env, render = environments.make_environment(env_name, seed=env_seed, **env_kwargs), None

  dataset = spec.load_dataset(seed)  # For the normalizer the agent was trained with.
  builder = spec.make_builder(dataset.shape_meta)
  replay = (builder.make_replay(dataset.shape_meta, 1, seed) if spec.phase == "online"
            else None)
  learner = builder.make_learner(dataset, seed=seed, replay=replay)
  checkpointer = checkpoints.Checkpointer(os.path.join(workdir, "checkpoints"))
  step, _ = checkpointer.restore(learner, step=checkpoint_step)
  if step is None:
    raise FileNotFoundError(f"workdir {workdir} has no loadable checkpoint in "
                            f"{checkpointer.directory}")
  common.announce(f"Evaluating {spec.agent_type} ({spec.policy_type} policy) at step {step} "
                  f"on {env_name}, {num_episodes} episodes")
  actor = builder.make_actor(learner, dataset.shape_meta, seed=seed, evaluation=True,
                             guidance_scale=guidance_scale)
  first = common.call_once(after_first_step)
  results, episode_frames, episode_actions = [], [], []
  for i in progress.progress(range(num_episodes), desc="evaluate"):
    recorded = i < video_episodes
    actions = [] if recorded and not in_process else None
    try:
      stats, frames = rollouts.run_episode(env, actor, render if recorded else None, actions,
                                           episode=i)
    except rollouts.NonFiniteActionError as e:
      raise rollouts.NonFiniteActionError(
          f"{e}. The checkpoint at step {step} in {checkpointer.directory} may hold NaN "
          "parameters (a diverged training run); evaluate an earlier one with "
          "checkpoint_step") from e
    results.append(stats)
    first()
    if recorded:
      episode_frames.append(frames)
    if actions is not None:
      episode_actions.append(np.asarray(actions, np.float32).reshape(len(actions), -1))

  diagnostics_found = {}
  if diagnostic_states and builder.networks.critic is not None:
    policy_params, critic_params = learner.get_variables(["policy", "critic"])
    ao_config = builder.config.action_optimization if builder.uses_action_optimization else None
    diagnostics_found = diagnostics.critic_diagnostics(
        builder.networks, policy_params, critic_params, dataset, ao_config,
        num_states=diagnostic_states, seed=seed)
    common.announce(f"On {diagnostics_found['diagnostics/num_states']} data states: "
                    + diagnostics.headline(diagnostics_found))
  summary = {"workdir": os.path.abspath(workdir), "step": step, "phase": spec.phase,
             "agent_type": spec.agent_type, "policy_type": spec.policy_type,
             "critic_type": spec.critic_type, "env_name": env_name,
             "guidance_scale": guidance_scale,
             "action_optimization": (dataclasses.asdict(builder.config.action_optimization)
                                     if builder.uses_action_optimization else None),
             **rollouts.summarize(results),
             **diagnostics_found,
             "episodes": [{k: None if np.isnan(v) else v for k, v in r.items()}
                          for r in results]}
  result_path = os.path.join(output_dir, f"eval_{step}.json")
  file_utils.write_json_atomic(result_path, summary)
  files = {"results": result_path}
  title = f"{spec.agent_type} / {spec.policy_type} policy on {env_name} ({spec.phase})"
  curve = plots.learning_curve(workdir, os.path.join(output_dir, "learning_curve.png"), title)
  if curve:
    files["learning_curve"] = curve
  if video_episodes:
    video = _write_video(env_name, env_kwargs, env_seed, step, results[:video_episodes],
                         episode_frames, episode_actions, output_dir, video_fps,
                         video_max_frames)
    if video:
      files["video"] = video
  summary["files"] = files
  line = f"Step {step}: mean return {summary['eval/return']:.3f}"
  if "eval/success" in summary:
    line += f", success rate {summary['eval/success']:.1%}"
  common.announce(f"{line} over {num_episodes} episodes. Wrote "
                  + ", ".join(f"{k} {v}" for k, v in files.items()))
  return summary


def _with_action_optimization(spec: spec_lib.ExperimentSpec,
                              overrides: Mapping[str, Any]) -> spec_lib.ExperimentSpec:
  """The spec with its agent's action optimization settings overridden."""
  from pa_rl import action_optimization as ao  # pylint: disable=g-import-not-at-top
  current = getattr(spec.agent_config, "action_optimization", None)
  if not isinstance(current, ao.ActionOptimizationConfig):
    raise ValueError(f"evaluate's action_optimization overrides an agent's action "
                     f"optimization; agent_type={spec.agent_type!r} has none")
  if not isinstance(overrides, Mapping):
    raise TypeError(f"evaluate's action_optimization must be a dict of "
                    f"ActionOptimizationConfig fields; got {type(overrides).__name__}")
  fields = {f.name for f in dataclasses.fields(ao.ActionOptimizationConfig)}
  unknown = sorted(set(overrides) - fields)
  if unknown:
    raise ValueError(f"evaluate's action_optimization has unknown fields {unknown}; "
                     f"ActionOptimizationConfig has: {', '.join(sorted(fields))}")
  return dataclasses.replace(spec, agent_config=dataclasses.replace(
      spec.agent_config, action_optimization=dataclasses.replace(current, **overrides)))


def _frames_to_keep(lengths: list[int], max_frames: int) -> list[np.ndarray]:
  """Per episode, the frame indices a GIF of at most ~``max_frames`` shows
  (evenly spread over all episodes, always with each episode's last frame)."""
  counts = [n + 1 for n in lengths]
  total = sum(counts)
  chosen = np.unique(np.linspace(0, total - 1, min(max_frames, total)).round().astype(int))
  keep, offset = [], 0
  for count in counts:
    mine = chosen[(chosen >= offset) & (chosen < offset + count)] - offset
    keep.append(np.union1d(mine, [count - 1]).astype(int))
    offset += count
  return keep


def _write_video(env_name: str, env_kwargs: Mapping[str, Any], env_seed: int, step: int,
                 results: list[dict[str, float]], episode_frames: list[list[np.ndarray]],
                 episode_actions: list[np.ndarray], output_dir: str, fps: float,
                 max_frames: int) -> str | None:
  """Writes ``rollout_<step>.gif``; returns its path, or None (with a message
  saying why) when the environment cannot render here."""
  keep = _frames_to_keep([int(r["length"]) for r in results], max_frames)
  if episode_actions:  # MuJoCo: replay the recorded actions in a child process.
    frames, returns, report = rendering.replay_in_subprocess(env_name, env_kwargs, env_seed,
                                                             episode_actions, keep)
    if frames is None:
      if report.startswith("the render process could not make the environment"):
        _skip_video(report)
      else:
        _skip_video(f"no MuJoCo offscreen rendering backend works here for {env_name} "
                    f"({report}). Set MUJOCO_GL to a working backend (egl, or osmesa with "
                    "libOSMesa) to record one")
      return None
    recorded = [r["return"] for r in results]
    if not np.allclose(returns, recorded, rtol=1e-4, atol=1e-4):
      _skip_video(f"the replay of {env_name} for the video diverged from the evaluated "
                  f"episodes (returns {returns} vs {recorded})")
      return None
  else:
    frames = [[episode[k] for k in wanted] for episode, wanted in zip(episode_frames, keep)]
  shown, captions, hold = [], [], []
  for i, (episode, wanted, stats) in enumerate(zip(frames, keep, results)):
    head = f"{env_name}  step {step}  episode {i + 1}"
    captions += [f"{head}  t={t}" for t in wanted[:-1]]
    end = f"{head}  return {stats['return']:.2f}"
    if not np.isnan(stats["success"]):
      end += "  success" if stats["success"] else "  failure"
    captions.append(end)
    shown.extend(episode)
    hold.append(len(shown) - 1)
  return plots.write_gif(shown, os.path.join(output_dir, f"rollout_{step}.gif"), fps=fps,
                         captions=captions, hold=hold)


def _skip_video(reason: str) -> None:
  message = f"Skipping the rollout video: {reason}."
  logging.warning("%s", message)
  common.announce(message)
