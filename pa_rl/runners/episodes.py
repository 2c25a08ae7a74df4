"""Where online episodes come from: this process, or environment workers on Ray.

Both sources hand the online loop one finished episode at a time — its
statistics and its transitions, in the library's units — and take the
learner's newest variables with `publish`. The loop inserts the transitions
into the replay buffer and makes ``utd_ratio`` updates per new transition, so
the update-to-data ratio is the same whichever source acts.

`RayEpisodes` follows Acme's distributed layout on Ray: a parameter server
actor holds the newest variables, ``num_workers`` worker actors each own an
environment and an `Actor` and pull the variables at the start of every
episode, and the learner (this process) consumes finished episodes as they
arrive. An episode travels whole, as the return value of one remote call, so
a worker that dies mid-episode loses only that episode: nothing partial
reaches the replay buffer. The dead worker is replaced (with a new seed) and
the loop goes on. Workers act with variables at most one episode old, so a
Ray run is not bit-reproducible; the in-process source is.

Point it at a cluster with ``ray_address`` (e.g. ``"ray://head:10001"`` or
``"auto"`` on a cluster node started with ``ray start``); without one a local
Ray instance is started.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from absl import logging
import jax
import numpy as np

from pa_rl import core
from pa_rl import environments
from pa_rl import types
from pa_rl.runners import rollouts
from pa_rl.runners import spec as spec_lib

Episode = tuple[dict[str, float], list[types.Transition]]
_VARIABLES = ("policy", "critic")


class LocalEpisodes:
  """Episodes from one environment and actor in this process."""

  def __init__(self, builder, learner, shape_meta: types.ShapeMeta, env_name: str,
               env_kwargs: Mapping[str, Any], *, seed: int, episode: int, n_step: int):
    self._pending: list[types.Transition] = []
    self._env = environments.make_environment(env_name, seed=seed + 7919 * episode,
                                              **env_kwargs)
    self._actor = builder.make_actor(learner, shape_meta, seed=seed + episode, evaluation=False,
                                     n_step=n_step, on_episode_end=self._pending.append)

  def next(self) -> Episode:
    stats, _ = rollouts.run_episode(self._env, self._actor)
    transitions, self._pending[:] = list(self._pending), []
    return stats, transitions

  def publish(self, variables: Mapping[str, Any]) -> None:
    del variables  # The actor reads the learner directly.
    self._actor.update()

  def close(self) -> None:
    pass


def init_ray(address: str | None = None, **kwargs) -> None:
  """Starts (or connects to) Ray once per process.

  Args:
    address: None starts a local instance; ``"auto"`` joins the cluster this
      node belongs to; ``"ray://host:10001"`` connects a client.
    **kwargs: passed to `ray.init` (e.g. ``num_cpus``).
  """
  import ray  # pylint: disable=g-import-not-at-top
  if ray.is_initialized():
    return
  options = {"include_dashboard": False, "log_to_driver": True, **kwargs}
  if address is None:
    options.setdefault("object_store_memory", 256 * 1024 * 1024)
  ray.init(address=address, **options)


class _ParameterServer:
  """Holds the newest variables and their version (a Ray actor)."""

  def __init__(self):
    self._version, self._variables = -1, None

  def put(self, version: int, variables: Any) -> None:
    if version > self._version:
      self._version, self._variables = version, variables

  def get(self) -> tuple[int, Any]:
    return self._version, self._variables


class _RemoteVariables(core.VariableSource):
  """An Acme variable source reading the parameter server."""

  def __init__(self, server):
    self._server = server
    self.version = -1

  def get_variables(self, names):
    import ray  # pylint: disable=g-import-not-at-top
    self.version, variables = ray.get(self._server.get.remote())
    if variables is None:
      raise RuntimeError("the parameter server holds no variables yet")
    return [variables[n] for n in names]


class _Worker:
  """One environment and one actor (a Ray actor)."""

  def __init__(self, spec_json: Mapping[str, Any], shape_meta: types.ShapeMeta, server,
               seed: int):
    spec = spec_lib.ExperimentSpec.from_json(spec_json)
    self._pending: list[types.Transition] = []
    self._variables = _RemoteVariables(server)
    self._env = environments.make_environment(spec.env_name, seed=seed, **spec.env_kwargs)
    self._actor = spec.make_builder(shape_meta).make_actor(
        self._variables, shape_meta, seed=seed, evaluation=False, n_step=spec.n_step,
        on_episode_end=self._pending.append)

  def pid(self) -> int:
    return os.getpid()

  def run_episode(self) -> tuple[dict[str, float], list[types.Transition], int]:
    """Pulls the newest variables and plays one episode."""
    self._actor.update()
    stats, _ = rollouts.run_episode(self._env, self._actor)
    transitions = [jax.tree.map(np.asarray, t) for t in self._pending]
    self._pending.clear()
    return stats, transitions, self._variables.version


class RayEpisodes:
  """Episodes from ``num_workers`` environment workers on Ray."""

  def __init__(self, spec: spec_lib.ExperimentSpec, shape_meta: types.ShapeMeta,
               variables: Mapping[str, Any], *, num_workers: int, seed: int, episode: int,
               address: str | None = None, max_restarts: int = 10,
               ray_options: Mapping[str, Any] | None = None):
    """Args:
      spec: the online run's spec (environment, agent, networks).
      shape_meta: the data's shapes and normalizer.
      variables: the learner's variables to start from (``policy``,
        ``critic``).
      num_workers: environment workers (>= 1), one CPU each.
      seed: with ``episode``, seeds the workers' environments and actors.
      episode: episodes done so far (a resumed run gets fresh seeds).
      address: the Ray cluster to join (None: a local instance).
      max_restarts: worker deaths tolerated before giving up.
      ray_options: passed to `ray.init` when this starts Ray.
    """
    import ray  # pylint: disable=g-import-not-at-top
    if num_workers < 1:
      raise ValueError(f"num_workers must be >= 1 for Ray acting; got {num_workers}")
    options = dict(ray_options or {})
    if address is None:  # A local instance has a CPU for each worker.
      options.setdefault("num_cpus", max(os.cpu_count() or 1, num_workers))
    init_ray(address, **options)
    self._ray = ray
    self._spec_json = spec.to_json()
    self._meta = shape_meta
    self._seed = seed + 7919 * episode
    self._launches = 0
    self._max_restarts = max_restarts
    self.restarts = 0
    self.last_version = -1  # Variables version the last episode acted with.
    self._version = 0
    self._server = ray.remote(num_cpus=0)(_ParameterServer).remote()
    ray.get(self.publish(variables))  # Workers find variables from the start.
    self._worker_class = ray.remote(num_cpus=1, max_restarts=0)(_Worker)
    self._workers: list[Any] = [None] * num_workers
    self._running: dict[Any, int] = {}
    for slot in range(num_workers):
      self._start(slot)

  @property
  def workers(self) -> list[Any]:
    """The worker actor handles (for monitoring; a dead one is replaced)."""
    return list(self._workers)

  def _start(self, slot: int) -> None:
    self._launches += 1
    self._workers[slot] = self._worker_class.remote(
        self._spec_json, self._meta, self._server, self._seed + 104729 * self._launches)
    self._running[self._workers[slot].run_episode.remote()] = slot

  @property
  def version(self) -> int:
    """The version of the newest published variables."""
    return self._version

  def publish(self, variables: Mapping[str, Any]):
    """Makes ``variables`` the ones workers pull from their next episode on.

    Returns the (non-blocking) put's object ref."""
    self._version += 1
    host = jax.device_get({n: variables[n] for n in _VARIABLES})
    return self._server.put.remote(self._version, host)

  def next(self) -> Episode:
    """The next finished episode from any worker (blocks until one ends)."""
    while True:
      ready, _ = self._ray.wait(list(self._running), num_returns=1)
      slot = self._running.pop(ready[0])
      try:
        stats, transitions, self.last_version = self._ray.get(ready[0])
      except self._ray.exceptions.RayActorError as e:
        self.restarts += 1
        if self.restarts > self._max_restarts:
          raise RuntimeError(f"Ray environment workers died {self.restarts} times "
                             f"(max_restarts={self._max_restarts}); last: {e}") from e
        logging.warning("Environment worker %d died (%s); starting a new one.", slot,
                        type(e).__name__)
        print(f"Warning: environment worker {slot} died; its unfinished episode is "
              f"dropped and a new worker starts ({self.restarts} restarts so far).")
        self._start(slot)
        continue
      self._running[self._workers[slot].run_episode.remote()] = slot
      return stats, transitions

  def close(self) -> None:
    for worker in self._workers:
      if worker is not None:
        self._ray.kill(worker)
    self._ray.kill(self._server)
    self._running.clear()


def variables_of(learner) -> dict[str, Any]:
  """The learner's ``policy`` and ``critic`` variables, by name."""
  return dict(zip(_VARIABLES, learner.get_variables(list(_VARIABLES))))
