"""`train_offline`: imitation or offline RL from an RLDS dataset, resumable."""

from __future__ import annotations

import dataclasses
import functools
import time
from typing import Any, Callable, Iterator, Mapping

from absl import logging
import numpy as np

from pa_rl import metrics_writer
from pa_rl import progress
from pa_rl.agents import state as state_lib
from pa_rl.runners import checkpoints
from pa_rl.runners import common
from pa_rl.runners import spec as spec_lib


def train_offline(workdir: str,
                  dataset_path: str | None = None,
                  agent_type: str = "diffusion_rl",
                  policy_type: str = "diffusion",
                  policy_config: Any = None,
                  critic_type: str | None = None,
                  critic_config: Any = None,
                  agent_config: Any = None,
                  env_name: str | None = None,
                  env_kwargs: Mapping[str, Any] | None = None,
                  num_steps: int = 100_000,
                  log_every: int = 1_000,
                  checkpoint_every: int = 10_000,
                  keep_checkpoints: int = 3,
                  eval_every: int = 10_000,
                  eval_episodes: int = 10,
                  normalize: bool = True,
                  n_step: int = 1,
                  action_horizon: int = 1,
                  seed: int = 0,
                  max_seconds: float | None = None,
                  updates_per_call: int = 1,
                  on_start: Callable[[], None] | None = None,
                  after_first_step: Callable[[], None] | None = None) -> dict[str, Any]:
  """Trains an agent offline; re-running with the same workdir resumes.

  One process at a time trains in a workdir (`common.WorkdirLock`); a
  resumed run must train what its checkpoints were trained with
  (`spec.write_spec` refuses any other setting, and then nothing is
  written).

  Writes into ``workdir``: ``experiment.json`` (what is trained),
  ``checkpoints/ckpt_<step>.npz`` (the newest ``keep_checkpoints``),
  ``train.csv`` and ``eval.csv`` (metrics) and ``tensorboard/``.

  Args:
    workdir: the run's directory. If it holds checkpoints of the same run,
      training resumes from the newest loadable one; a run already at
      ``num_steps`` does not train again.
    dataset_path: RLDS dataset directory (`pa_rl.binaries.collect` writes one).
    agent_type: imitation, iql, calql, offline_rl (PA-RL, any policy) or
      diffusion_rl (PA-RL, diffusion policy).
    policy_type: gaussian, diffusion, flow or autoregressive.
    policy_config: None, a partial dict or the policy's config dataclass.
    critic_type: ensemble or distributional; None means ensemble for the
      agents with a critic (imitation has none).
    critic_config: None, a partial dict or the critic's config dataclass.
    agent_config: None, a partial dict or the agent's config dataclass.
    env_name: where to evaluate; None takes the dataset's environment.
    env_kwargs: keyword arguments of `environments.make_environment`.
    num_steps: total learner updates.
    log_every: updates between metric rows.
    checkpoint_every: updates between checkpoints (one is always written at
      the end).
    keep_checkpoints: how many checkpoints to keep.
    eval_every: updates between evaluations (also one before training and
      one at the end); 0 disables evaluation.
    eval_episodes: episodes per evaluation.
    normalize: normalize observations and actions with the data's statistics.
    n_step: TD backup length.
    action_horizon: actions per chunk.
    seed: seeds initialization, sampling and evaluation.
    max_seconds: a wall-clock budget for the run's updates (evaluations and
      checkpoints not counted), counted across resumes: each checkpoint
      saves the update seconds spent up to it, and a resumed run goes on
      from there (a checkpoint written without them counts from zero). Once
      spent, the update that spent it is the last (logged, evaluated and
      checkpointed as the last of ``num_steps`` would be); a run resumed
      with its budget already spent trains nothing. None: no budget. Every
      evaluation row records ``eval/train_seconds``, the run's update time
      so far, for curves of score against compute.
    updates_per_call: updates fused into one jitted call (`Learner.step`);
      between logging, evaluation and checkpoint steps the run takes calls of
      this many updates (single updates where fewer are left before one), so
      it trains exactly as many updates and stops at the same steps. Each
      update draws its own batch, but from a different stream of batches
      than single calls draw. The budget is checked after each call.
    on_start: called once the workdir is held and the run accepted (the
      binaries write ``config.gin`` then: a refused run leaves the workdir
      as it was).
    after_first_step: called once after the first update of this process
      (the binaries write gin's operative config then).

  Returns:
    A summary: ``step``, ``finished_before`` (nothing was trained), and
    where it trained, the last training and evaluation metrics and
    ``train_seconds`` (the run's update seconds, across resumes).
  """
  if not workdir:
    raise ValueError("train_offline needs a workdir")
  for name, value, minimum in (("num_steps", num_steps, 0), ("log_every", log_every, 1),
                               ("checkpoint_every", checkpoint_every, 1),
                               ("eval_every", eval_every, 0), ("seed", seed, 0),
                               ("updates_per_call", updates_per_call, 1)):
    common.check_int(name, value, minimum)
  if max_seconds is not None and not (isinstance(max_seconds, (int, float))
                                      and not isinstance(max_seconds, bool)
                                      and 0 < max_seconds < float("inf")):
    raise ValueError(f"max_seconds must be None or a number > 0; got {max_seconds!r}")
  if agent_type not in spec_lib.OFFLINE_AGENT_TYPES:
    raise ValueError(f"agent_type={agent_type!r} cannot be trained offline; choose one of: "
                     f"{', '.join(spec_lib.OFFLINE_AGENT_TYPES)} (actor_critic is "
                     "finetune_online's)")
  spec = spec_lib.make_spec(
      phase="offline", dataset_path=dataset_path, env_name=env_name, env_kwargs=env_kwargs,
      agent_type=agent_type, policy_type=policy_type, policy_config=policy_config,
      critic_type=critic_type, critic_config=critic_config, agent_config=agent_config,
      normalize=normalize, n_step=n_step, action_horizon=action_horizon)
  with common.WorkdirLock(workdir):
    checkpointer = checkpoints.for_run(workdir, keep_checkpoints, "num_steps", num_steps)
    dataset = spec.load_dataset(seed)
    if spec.env_name is None and dataset.metadata.get("env_name"):
      spec = dataclasses.replace(spec, env_name=dataset.metadata["env_name"])
    spec_lib.write_spec(workdir, spec)
    if on_start is not None:
      on_start()
    builder = spec.make_builder(dataset.shape_meta)
    learner = builder.make_learner(dataset, seed=seed)
    start, _ = checkpointer.restore(learner)
    start = start or 0
    spent = _seconds_spent(checkpointer, start)
    if start >= num_steps:
      common.announce(f"The run in {workdir} already finished: its checkpoint is at step "
                      f"{start} of num_steps={num_steps}. Nothing to train (raise num_steps "
                      "to train further).")
      return {"step": start, "finished_before": True}
    if max_seconds is not None and spent is not None and spent >= max_seconds:
      common.announce(f"The run in {workdir} already spent its budget of "
                      f"max_seconds={max_seconds:g} ({spent:.1f} s of updates to its checkpoint "
                      f"at step {start}). Nothing to train (raise max_seconds to train further).")
      return {"step": start, "finished_before": True}
    if start:
      common.announce(f"Resuming from the checkpoint at step {start} "
                      f"({checkpointer.path(start)}"
                      + (f"; {spent:.1f} s of updates spent" if spent is not None else
                         "; it has no record of the update seconds spent, so they count "
                         "from zero") + ").")
    common.announce(f"Training {agent_type} ({policy_type} policy"
                    + (f", {spec.critic_type} critic" if spec.critic_type else "")
                    + f") on {spec.dataset_path} ({dataset.size} transitions), "
                    f"steps {start} -> {num_steps}; workdir {workdir}")

    writer = metrics_writer.MetricsWriter(workdir, resume_step=start)
    evaluator = None
    if eval_every:
      evaluator = common.Evaluator(builder, learner, dataset.shape_meta, spec.env_name,
                                   spec.env_kwargs, eval_episodes, seed)
    eval_metrics: dict[str, float] = {}
    train_metrics: dict[str, float] = {}
    if evaluator is not None and start == 0:
      eval_metrics = {**evaluator(), "eval/train_seconds": 0.0}
      writer.write("eval", 0, eval_metrics)
      logging.info("step 0: %s", common.headline(eval_metrics))
    first_step = common.call_once(after_first_step)
    rate = common.RateMeter(start)
    train_seconds, step = spent or 0.0, start
    boundaries = [n for n in (log_every, eval_every, checkpoint_every) if n]
    calls = functools.partial(_calls, start, num_steps, updates_per_call, boundaries)
    desc = "train_offline" + (f" (calls of {updates_per_call} updates)"
                              if updates_per_call > 1 else "")
    try:
      for step, size in progress.progress(calls(), total=sum(1 for _ in calls()), desc=desc):
        tick = time.perf_counter()
        if size == updates_per_call > 1:
          learner.step(size)
        else:  # Single updates (also where fewer are left: no compile for a one-off size).
          for _ in range(size):
            learner.step()
        first_step()
        last = step == num_steps
        if step % log_every == 0 or last or max_seconds is not None:
          learner.flush()  # Updates run asynchronously: count their time, not the dispatch's.
        train_seconds += time.perf_counter() - tick
        if max_seconds is not None and train_seconds >= max_seconds and not last:
          common.announce(f"The budget of max_seconds={max_seconds:g} is spent at step {step} "
                          f"of {num_steps}; stopping there.")
          last = True
        if step % log_every == 0 or last:
          train_metrics = {**learner.metrics, "train/steps_per_sec": rate(step)}
          writer.write("train", step, train_metrics)
          logging.info("step %d: %s", step, common.headline(train_metrics))
        if evaluator is not None and (step % eval_every == 0 or last):
          # Unrounded: after a first update that compiles, later ones may take milliseconds.
          eval_metrics = {**evaluator(), "eval/train_seconds": train_seconds}
          writer.write("eval", step, eval_metrics)
          logging.info("step %d: %s", step, common.headline(eval_metrics))
        if step % checkpoint_every == 0 or last:
          learner.flush()
          checkpointer.save(learner, step, extra=_seconds_record(train_seconds))
        if last and step < num_steps:  # The budget ran out.
          break
    except KeyboardInterrupt:
      common.announce_interrupt(f"step {step}", checkpointer)
      raise
    finally:
      writer.close()
    summary = {"step": step, "finished_before": False, "train": train_metrics,
               "eval": eval_metrics, "train_seconds": round(train_seconds, 2)}
    done = f"Finished {step} steps; checkpoint {checkpointer.path(step)}"
    if "eval/return" in eval_metrics:
      done += f"; evaluation return {eval_metrics['eval/return']:.3f}"
    if "eval/success" in eval_metrics:
      done += f", success rate {eval_metrics['eval/success']:.1%}"
    common.announce(done)
    return summary


def _seconds_record(seconds: float) -> dict[str, np.ndarray]:
  """What a checkpoint saves beside the learner: its run's update seconds."""
  return {"train_seconds": np.asarray(seconds, np.float64)}


def _seconds_spent(checkpointer: checkpoints.Checkpointer, step: int) -> float | None:
  """The update seconds saved with the checkpoint at ``step`` (0.0 for a new
  run; None where that checkpoint has no readable record of them)."""
  if not step:
    return 0.0
  try:
    record, _ = state_lib.load_checkpoint(checkpointer.extra_path(step), _seconds_record(0.0))
  except state_lib.CheckpointError as e:
    logging.warning("No update seconds for the checkpoint at step %d: %s", step, e)
    return None
  return float(record["train_seconds"])


def _calls(start: int, num_steps: int, updates_per_call: int,
           boundaries: list[int]) -> Iterator[tuple[int, int]]:
  """Yields (step after the call, updates in it) for the calls from
  ``start`` to ``num_steps``: ``updates_per_call`` updates each, except where
  a multiple of a ``boundaries`` value (logging, evaluation, checkpoints) or
  the end comes sooner, so every such step is one a call ends at."""
  step = start
  while step < num_steps:
    end = min([num_steps] + [(step // n + 1) * n for n in boundaries])
    size = updates_per_call if step + updates_per_call <= end else end - step
    step += size
    yield step, size
