"""Pieces the runners share: argument checks, periodic evaluation, log lines."""

from __future__ import annotations

import os
import time
from typing import Any, Callable, Mapping

from pa_rl import environments
from pa_rl import file_utils
from pa_rl.runners import rollouts

# Shown in the periodic log line when present, in this order.
_HEADLINE = ("critic/loss", "policy/loss", "critic/q_data", "critic/q_mean",
             "action_opt/global_gain", "action_opt/local_gain", "eval/return",
             "eval/success", "online/return", "online/success", "train/steps_per_sec")


def check_int(name: str, value: Any, minimum: int) -> int:
  if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
    raise ValueError(f"{name} must be an int >= {minimum}; got {value!r}")
  return value


def headline(metrics: Mapping[str, float]) -> str:
  """A short ``key=value`` summary of the metrics people look at first."""
  return ", ".join(f"{k}={metrics[k]:.4g}" for k in _HEADLINE if k in metrics)


class Evaluator:
  """Evaluation episodes of a learner's current policy (argmax acting).

  The environment and the actor are built on the first call and reused, so
  the policy function compiles once.
  """

  def __init__(self, builder, learner, shape_meta, env_name: str | None,
               env_kwargs: Mapping[str, Any], num_episodes: int, seed: int):
    if not env_name:
      raise ValueError("evaluation needs an environment: bind env_name (or set "
                       "eval_every=0 to train without evaluating)")
    self._make = lambda: (
        environments.make_environment(env_name, seed=seed + 1000, **env_kwargs),
        builder.make_actor(learner, shape_meta, seed=seed, evaluation=True))
    self._env = self._actor = None
    self.num_episodes = check_int("eval_episodes", num_episodes, 1)

  def __call__(self) -> dict[str, float]:
    if self._env is None:
      self._env, self._actor = self._make()
    self._actor.update(wait=True)
    start = time.time()
    results = rollouts.evaluate_episodes(self._env, self._actor, self.num_episodes)
    metrics = rollouts.summarize(results)
    metrics["eval/seconds"] = time.time() - start
    return metrics


class RateMeter:
  """Steps per second between successive calls."""

  def __init__(self, step: int):
    self._step, self._time = step, time.time()

  def __call__(self, step: int) -> float:
    now = time.time()
    rate = (step - self._step) / max(now - self._time, 1e-9)
    self._step, self._time = step, now
    return rate


def call_once(fn: Callable[[], None] | None) -> Callable[[], None]:
  """``fn`` that runs on the first call only (None: a no-op)."""
  done = []

  def wrapper():
    if fn is not None and not done:
      done.append(True)
      fn()
  return wrapper


def announce(message: str) -> None:
  """A line for the person running the binary (stdout; the periodic metric
  lines go to the absl log, on stderr)."""
  print(message, flush=True)


class WorkdirLock(file_utils.DirectoryLock):
  """Makes this process the one writer of a run's workdir (``<workdir>/.lock``).

  On entry it creates the workdir if needed, takes the lock (refused, naming
  the PID, while another live process holds it; taken over, with a message,
  from a process that died holding it), then removes the temporary files a
  killed writer left in the workdir and its ``checkpoints/``.
  """

  def __init__(self, workdir: str):
    path = file_utils.make_dirs(workdir, "workdir")
    super().__init__(os.path.join(path, ".lock"), f"workdir {path}")
    self.workdir = path

  def acquire(self) -> "WorkdirLock":
    super().acquire()
    try:
      for directory in (self.workdir, os.path.join(self.workdir, "checkpoints")):
        file_utils.remove_stale_temporaries(directory)
    except BaseException:
      self.release()
      raise
    return self


def announce_interrupt(where: str, checkpointer) -> None:
  """Says where an interrupted run stopped and where rerunning resumes."""
  steps = checkpointer.steps()
  announce(f"Interrupted at {where}; rerun the same command to resume from "
           + (f"the checkpoint at step {steps[-1]}." if steps else "the start (no checkpoint "
              "was written yet)."))
