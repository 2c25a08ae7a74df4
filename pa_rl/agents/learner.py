"""The Acme-style learner every agent uses: pull a batch, run `update_step`.

The update is data-parallel over a device mesh (see `distributed`): the
batch is split along the mesh's ``"data"`` axis and the state is replicated.
By default the mesh holds every device of every process; one device is the
same code path.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from pa_rl import core
from pa_rl.agents import distributed
from pa_rl.agents import networks as networks_lib
from pa_rl.agents import state as state_lib
from pa_rl.agents import update as update_lib
from pa_rl.datasets import offline
from pa_rl.datasets import replay as replay_lib


class NonFiniteError(FloatingPointError):
  """An update produced NaN/Inf losses or gradients."""


class Learner(core.Learner):
  """Trains an agent's networks from an `OfflineDataset` (and a replay buffer).

  Implements Acme's `Learner` contract: `step`, `get_variables`, `save`,
  `restore`. The variables served are ``"policy"`` (the parameters to sample
  with: EMA where the policy asks for it) and ``"critic"``.
  """

  def __init__(self, networks: networks_lib.AgentNetworks, config: Any,
               objective: update_lib.Objective, dataset: offline.OfflineDataset, *,
               seed: int = 0, policy_params: Any = None, critic_params: Any = None,
               replay: replay_lib.ReplayBuffer | None = None, online_fraction: float = 0.0,
               mesh: jax.sharding.Mesh | None = None,
               devices: Sequence[jax.Device] | None = None):
    """Args:
      networks: the policy and critic networks.
      config: the agent's config (a `LearnerConfig` subclass).
      objective: which losses to optimize.
      dataset: offline data, sampled at ``config.batch_size``.
      seed: seeds parameter initialization and the update's randomness.
      policy_params, critic_params: start from these (e.g. an offline
        checkpoint) instead of a fresh initialization.
      replay: online data mixed into each batch at ``online_fraction``.
      mesh: train data-parallel on this mesh (it needs a ``"data"`` axis).
      devices: or on a one-axis mesh over these devices. Neither: every
        device of every process (`jax.devices()`).

    Several processes (after `distributed.initialize`) each build the learner
    with the same arguments (same seed, same dataset): each samples the same
    global batch and feeds its own devices' rows.

    Raises:
      ValueError: ``config.batch_size`` is not divisible by the number of
        data devices.
    """
    self._networks = networks
    self._config = config
    self._objective = objective
    self._dataset = dataset
    self._replay = replay
    self._online_fraction = online_fraction
    init_key, policy_key, critic_key = jax.random.split(jax.random.PRNGKey(seed), 3)
    obs = dataset.shape_meta.dummy_observation()
    action = dataset.shape_meta.dummy_action()
    if policy_params is None:
      policy_params = networks.policy.init(policy_key, obs)
    if critic_params is None and networks.critic is not None and objective.critic != "none":
      critic_params = networks.critic.init(critic_key, obs, action)
    self._parallel = distributed.DataParallel(mesh=mesh, devices=devices)
    self._parallel.check_batch_size(config.batch_size)
    self._state = self._parallel.replicate(
        update_lib.init_state(policy_params, critic_params, config, init_key))
    self._update = self._parallel.jit(update_lib.make_update_step(
        networks.policy, networks.critic, config, objective))
    self._fused: dict[int, Any] = {}  # num_updates -> jitted fused update
    self._metrics: dict[str, Any] = {}
    self._pending_check = None
    self._pending_updates = 1

  @property
  def state(self) -> state_lib.TrainingState:
    return self._state

  @property
  def mesh(self) -> jax.sharding.Mesh:
    """The device mesh the update runs on."""
    return self._parallel.mesh

  @property
  def dataset(self) -> offline.OfflineDataset:
    return self._dataset

  @property
  def replay(self) -> replay_lib.ReplayBuffer | None:
    return self._replay

  @replay.setter
  def replay(self, buffer: replay_lib.ReplayBuffer) -> None:
    self._replay = buffer

  @property
  def metrics(self) -> dict[str, float]:
    """The last step's metrics, as floats (synchronizes with the device)."""
    return {k: float(v) for k, v in distributed.to_host(self._metrics).items()}

  def _batch(self):
    if self._replay is not None and self._online_fraction > 0:
      self._dataset, self._replay, batch = replay_lib.sample_mixed(
          self._dataset, self._replay, self._config.batch_size, self._online_fraction)
      return batch
    self._dataset, batch = self._dataset.sample(self._config.batch_size)
    return batch

  def _batches(self, num_updates: int):
    """``num_updates`` batches stacked along a new leading axis."""
    if self._replay is not None and self._online_fraction > 0:
      # Each batch keeps the online fraction: mixed batches are drawn one by one.
      batches = [self._batch() for _ in range(num_updates)]
      return jax.tree.map(lambda *xs: jnp.stack(xs), *batches)
    # Rows are drawn uniformly with replacement, so one draw of
    # num_updates * batch_size rows is num_updates independent batches.
    size = self._config.batch_size
    self._dataset, rows = self._dataset.sample(num_updates * size)
    return jax.tree.map(lambda x: x.reshape((num_updates, size) + x.shape[1:]), rows)

  def step(self, num_updates: int = 1) -> None:
    """``num_updates`` updates: one by default; more run fused in one jitted
    call (`update.make_multi_update_step`: one dispatch and no host round
    trip between them, each on its own batch), which is faster where an
    update is short next to Python's and XLA's per-call overhead.

    A non-finite update is skipped inside the jitted step; with
    ``config.stop_on_nonfinite`` the next call raises `NonFiniteError`
    (checked one call late, so the host never waits on the device).
    """
    if (not isinstance(num_updates, (int, np.integer)) or isinstance(num_updates, bool)
        or num_updates < 1):
      raise ValueError(f"num_updates must be an int >= 1; got {num_updates!r}")
    self._check_previous()
    if num_updates == 1:
      batch = self._parallel.shard_batch(self._batch())
      self._state, self._metrics = self._update(self._state, batch)
    else:
      num_updates = int(num_updates)
      if num_updates not in self._fused:
        self._fused[num_updates] = self._parallel.jit(update_lib.make_multi_update_step(
            self._networks.policy, self._networks.critic, self._config, self._objective,
            num_updates), stacked=True)
      batches = self._parallel.shard_batch(self._batches(num_updates), stacked=True)
      self._state, self._metrics = self._fused[num_updates](self._state, batches)
    self._pending_check = self._metrics
    self._pending_updates = num_updates

  def _check_previous(self) -> None:
    if self._pending_check is None:
      return
    metrics = self._pending_check
    self._pending_check = None
    if self._config.stop_on_nonfinite and float(
        distributed.to_host(metrics["train/nonfinite"])) > 0:
      losses = {k: float(v) for k, v in distributed.to_host(metrics).items()
                if k.endswith("loss")}
      step = int(distributed.to_host(self._state.step))
      which = (f"update {step}" if self._pending_updates == 1 else
               f"an update of the {self._pending_updates} fused ones up to update {step}")
      raise NonFiniteError(
          f"{which} produced non-finite values (losses: {losses}); the update was "
          "skipped and the state holds the last finite parameters")

  def flush(self) -> None:
    """Waits for the last step and runs its non-finite check."""
    self._check_previous()

  def get_variables(self, names: Sequence[str]) -> list[Any]:
    # Actors run on one device: they get this process's copy of the
    # replicated parameters.
    variables = {
        "policy": distributed.local_copy(
            update_lib.sampling_params(self._networks.policy, self._state)),
        "critic": distributed.local_copy(self._state.critic_params),
        "state": self._state,
    }
    unknown = [n for n in names if n not in variables]
    if unknown:
      raise ValueError(f"unknown variables {unknown}; choose from {sorted(variables)}")
    return [variables[n] for n in names]

  def save(self) -> dict[str, Any]:
    """The learner state and the sampling keys: enough to resume exactly."""
    saved = {"state": self._state, "dataset_key": self._dataset.key}
    if self._replay is not None:
      saved["replay_key"] = self._replay.key
    return saved

  def restore(self, saved: dict[str, Any]) -> None:
    self._state = self._parallel.replicate(saved["state"])
    self._dataset = dataclasses.replace(self._dataset, key=saved["dataset_key"])
    if self._replay is not None and "replay_key" in saved:
      self._replay = dataclasses.replace(self._replay, key=saved["replay_key"])
    self._pending_check = None

  def save_checkpoint(self, path: str) -> None:
    """Writes `save()` to ``path`` atomically (.npz, no pickle)."""
    saved = distributed.to_host(self.save())
    state_lib.save_checkpoint(path, saved, {"step": np.asarray(saved["state"].step)})

  def restore_checkpoint(self, path: str) -> None:
    """Restores a checkpoint written by `save_checkpoint`."""
    saved, _ = state_lib.load_checkpoint(path, self.save())
    self.restore(saved)
