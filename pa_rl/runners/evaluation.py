"""`evaluate`: a run's checkpoint in its environment, with pictures."""

from __future__ import annotations

import json
import os
from typing import Any, Callable, Mapping

from absl import logging
import numpy as np

from pa_rl import environments
from pa_rl import plots
from pa_rl import progress
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
             after_first_step: Callable[[], None] | None = None) -> dict[str, Any]:
  """Evaluates the newest (or a given) checkpoint of a training workdir.

  Writes into ``output_dir`` (default ``<workdir>/eval``):
  ``eval_<step>.json`` (mean return, success rate, per-episode results),
  ``learning_curve.png`` (from the run's CSV logs) and ``rollout_<step>.gif``
  (the first ``video_episodes`` episodes). MuJoCo tasks need an offscreen
  OpenGL backend for the video; without one the video is skipped with a
  message saying why.

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
    after_first_step: called once after the first evaluation episode.
  """
  common.check_int("num_episodes", num_episodes, 1)
  common.check_int("video_episodes", video_episodes, 0)
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
  output_dir = output_dir or os.path.join(workdir, "eval")
  os.makedirs(output_dir, exist_ok=True)

  # The rendering backend must be chosen before MuJoCo is imported.
  env, render = None, None
  if video_episodes:
    env, render = _render_environment(env_name, env_kwargs, seed)
  if env is None:
    env = environments.make_environment(env_name, seed=seed + 1000, **env_kwargs)

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
  results, frames, captions, ends = [], [], [], []
  for i in progress.progress(range(num_episodes), desc="evaluate"):
    stats, episode_frames = rollouts.run_episode(env, actor,
                                                 render if i < video_episodes else None)
    results.append(stats)
    first()
    if episode_frames:
      head = f"{env_name}  step {step}  episode {i + 1}"
      captions += [f"{head}  t={t}" for t in range(len(episode_frames) - 1)]
      end = f"{head}  return {stats['return']:.2f}"
      if not np.isnan(stats["success"]):
        end += "  success" if stats["success"] else "  failure"
      captions.append(end)
      frames.extend(episode_frames)
      ends.append(len(frames) - 1)

  summary = {"workdir": os.path.abspath(workdir), "step": step, "phase": spec.phase,
             "agent_type": spec.agent_type, "policy_type": spec.policy_type,
             "critic_type": spec.critic_type, "env_name": env_name,
             "guidance_scale": guidance_scale, **rollouts.summarize(results),
             "episodes": [{k: None if np.isnan(v) else v for k, v in r.items()}
                          for r in results]}
  result_path = os.path.join(output_dir, f"eval_{step}.json")
  _write_json(result_path, summary)
  files = {"results": result_path}
  title = f"{spec.agent_type} / {spec.policy_type} policy on {env_name} ({spec.phase})"
  curve = plots.learning_curve(workdir, os.path.join(output_dir, "learning_curve.png"), title)
  if curve:
    files["learning_curve"] = curve
  if frames:
    keep = np.arange(len(frames))
    if len(frames) > video_max_frames:  # Subsample, keeping each episode's end.
      keep = np.union1d(np.linspace(0, len(frames) - 1, video_max_frames).round(), ends)
      keep = keep.astype(int)
    index = {int(k): j for j, k in enumerate(keep)}
    files["video"] = plots.write_gif(
        [frames[k] for k in keep], os.path.join(output_dir, f"rollout_{step}.gif"),
        fps=video_fps, captions=[captions[k] for k in keep], hold=[index[e] for e in ends])
  summary["files"] = files
  line = f"Step {step}: mean return {summary['eval/return']:.3f}"
  if "eval/success" in summary:
    line += f", success rate {summary['eval/success']:.1%}"
  common.announce(f"{line} over {num_episodes} episodes. Wrote "
                  + ", ".join(f"{k} {v}" for k, v in files.items()))
  return summary


def _render_environment(env_name: str, env_kwargs: Mapping[str, Any], seed: int):
  """(env, render) for the video, or (None, None) with a logged reason."""
  if not rollouts.is_builtin(env_name):
    backend, report = rollouts.choose_mujoco_backend(env_name, env_kwargs)
    if backend is None:
      message = (f"Skipping the rollout video: no MuJoCo offscreen rendering backend works "
                 f"here for {env_name} ({report}). Set MUJOCO_GL to a working backend (egl "
                 f"with a GPU driver, or osmesa with libOSMesa) to record one.")
      logging.warning("%s", message)
      common.announce(message)
      return None, None
    os.environ["MUJOCO_GL"] = backend
  try:
    return rollouts.make_render_environment(env_name, seed + 1000, env_kwargs)
  except Exception as e:  # pylint: disable=broad-except
    message = f"Skipping the rollout video: {env_name} cannot render ({type(e).__name__}: {e})"
    logging.warning("%s", message)
    common.announce(message)
    return None, None


def _write_json(path: str, data: Any) -> None:
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    json.dump(data, f, indent=1)
  os.replace(tmp, path)
