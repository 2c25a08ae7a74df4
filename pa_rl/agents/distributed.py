"""Data parallelism for the learner: one device mesh, replicated state, sharded batch.

The learner's update is data-parallel over a `jax.sharding.Mesh` with a
``"data"`` axis: the global batch is split along it, the training state is
replicated, and XLA inserts the gradient all-reduce. One device is the same
code path on a one-device mesh.

Several hosts (processes) join one job with `initialize` before any other JAX
call; afterwards `jax.devices()` lists the devices of every process and the
default mesh spans them all. Every process draws the same global batch (same
dataset, same seed) and hands only its own devices' rows to the update, so a
run's numbers do not depend on how many devices or processes share it.

Two processes (run the same script once per process, ``PROCESS_ID`` 0 and 1;
on one machine the coordinator is ``127.0.0.1``, across machines process 0's
address)::

  from pa_rl.agents import distributed
  distributed.initialize("127.0.0.1:12345", num_processes=2, process_id=PROCESS_ID)
  learner = builder.make_learner(dataset, seed=0)   # The mesh spans both processes.
  for _ in range(num_steps):
    learner.step()
  if jax.process_index() == 0:
    learner.save_checkpoint(path)

Random numbers inside the update stay the same under any sharding because
``jax_threefry_partitionable`` is on (the default since JAX 0.5); `DataParallel`
refuses to run with it off.
"""

from __future__ import annotations

from typing import Any, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

DATA_AXIS = "data"


def initialize(coordinator_address: str, num_processes: int, process_id: int, *,
               local_device_ids: Sequence[int] | None = None,
               cpu_collectives: str | None = "gloo",
               initialization_timeout: int = 300) -> None:
  """Joins this process to a multi-host job; call it before any other JAX call.

  Every process calls it with the same ``coordinator_address`` and
  ``num_processes`` and its own ``process_id``; process 0 hosts the
  coordinator at that address.

  Args:
    coordinator_address: ``"host:port"`` of process 0, reachable from every
      process (``"127.0.0.1:<port>"`` for processes on one machine).
    num_processes: number of processes in the job.
    process_id: this process, in ``[0, num_processes)``.
    local_device_ids: restrict this process to these local devices (e.g. one
      GPU per process); None: all of them.
    cpu_collectives: the cross-process collectives CPU devices use
      (``jax_cpu_collectives_implementation``: ``"gloo"`` or ``"mpi"``);
      None leaves JAX's setting alone. Without one, CPU processes cannot
      all-reduce across each other.
    initialization_timeout: seconds to wait for every process to join.

  Raises:
    ValueError: a malformed address or process count/id.
    RuntimeError: JAX already ran a computation in this process (from JAX).
  """
  host, sep, port = coordinator_address.rpartition(":")
  if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
    raise ValueError(f"coordinator_address={coordinator_address!r} must be 'host:port', "
                     "e.g. '127.0.0.1:12345'")
  if not isinstance(num_processes, int) or num_processes < 1:
    raise ValueError(f"num_processes must be a positive int; got {num_processes!r}")
  if not isinstance(process_id, int) or not 0 <= process_id < num_processes:
    raise ValueError(f"process_id={process_id!r} must be in [0, {num_processes})")
  if cpu_collectives is not None:
    jax.config.update("jax_cpu_collectives_implementation", cpu_collectives)
  jax.distributed.initialize(coordinator_address=coordinator_address,
                             num_processes=num_processes, process_id=process_id,
                             local_device_ids=local_device_ids,
                             initialization_timeout=initialization_timeout)


def shutdown() -> None:
  """Leaves the multi-host job (waits for the other processes to leave too)."""
  jax.distributed.shutdown()


def make_mesh(devices: Sequence[jax.Device] | None = None) -> Mesh:
  """A one-axis ``"data"`` mesh over ``devices`` (default: every device of
  every process), ordered by process so each process's rows are contiguous."""
  devices = list(jax.devices() if devices is None else devices)
  if not devices:
    raise ValueError("devices is empty; pass at least one device")
  if len(set(devices)) != len(devices):
    raise ValueError(f"devices lists a device twice: {devices}")
  devices.sort(key=lambda d: (d.process_index, d.id))
  return Mesh(np.array(devices), (DATA_AXIS,))


class DataParallel:
  """Shardings and transfers for data-parallel training on one mesh.

  Attributes:
    mesh: the device mesh; it has a ``"data"`` axis and may have others (the
      batch is replicated along those).
    batch_sharding: leading (batch) axis split over ``"data"``.
    stacked_batch_sharding: for batches stacked for fused updates
      (``[updates, batch, ...]``): the second axis split over ``"data"``.
    replicated: every device holds the whole value.
  """

  def __init__(self, mesh: Mesh | None = None,
               devices: Sequence[jax.Device] | None = None):
    if mesh is not None and devices is not None:
      raise ValueError("pass mesh or devices, not both")
    if not jax.config.jax_threefry_partitionable:
      raise ValueError("jax_threefry_partitionable is off, so random numbers would change "
                       "with the sharding; turn it on: "
                       "jax.config.update('jax_threefry_partitionable', True)")
    self.mesh = make_mesh(devices) if mesh is None else mesh
    if DATA_AXIS not in self.mesh.axis_names:
      raise ValueError(f"mesh axes {self.mesh.axis_names} have no {DATA_AXIS!r} axis to "
                       "shard the batch along")
    self.batch_sharding = NamedSharding(self.mesh, PartitionSpec(DATA_AXIS))
    self.stacked_batch_sharding = NamedSharding(self.mesh, PartitionSpec(None, DATA_AXIS))
    self.replicated = NamedSharding(self.mesh, PartitionSpec())
    self._multi_process = len({d.process_index for d in self.mesh.devices.flat}) > 1

  @property
  def num_data_devices(self) -> int:
    """How many ways the batch is split."""
    return int(self.mesh.shape[DATA_AXIS])

  @property
  def multi_process(self) -> bool:
    """Whether the mesh spans devices of more than one process."""
    return self._multi_process

  def check_batch_size(self, batch_size: int) -> None:
    """Raises a ValueError unless ``batch_size`` splits evenly over the data devices."""
    if batch_size % self.num_data_devices:
      raise ValueError(
          f"batch_size={batch_size} is not divisible by the {self.num_data_devices} data "
          f"devices of the mesh; use a multiple of {self.num_data_devices} or fewer devices")

  def jit(self, update_fn, stacked: bool = False):
    """``update_fn(state, batch) -> (state, metrics)`` jitted with a
    replicated state and metrics and a batch sharded along ``"data"``
    (``stacked``: batches stacked along a leading axis, see `shard_batch`)."""
    batch_sharding = self.stacked_batch_sharding if stacked else self.batch_sharding
    return jax.jit(update_fn, in_shardings=(self.replicated, batch_sharding),
                   out_shardings=(self.replicated, self.replicated))

  def replicate(self, tree: Any) -> Any:
    """``tree`` on every device. Across processes, each process must pass the
    same values (e.g. parameters initialized from the same seed)."""
    if not self._multi_process:
      return jax.device_put(tree, self.replicated)
    return jax.tree.map(
        lambda x: self._from_global(np.asarray(local_copy(x)), self.replicated), tree)

  def shard_batch(self, batch: Any, stacked: bool = False) -> Any:
    """The global ``batch`` split along ``"data"``.

    Across processes every process passes the same global batch and only
    its own devices' rows are transferred.

    Args:
      batch: a tree of arrays with the batch as their leading axis.
      stacked: the arrays are batches stacked along a leading axis (one per
        fused update, ``[updates, batch, ...]``): their second axis is split.
    """
    sharding = self.stacked_batch_sharding if stacked else self.batch_sharding
    leaves = jax.tree.leaves(batch)
    if leaves:
      self.check_batch_size(int(np.shape(leaves[0])[1 if stacked else 0]))
    if not self._multi_process:
      return jax.device_put(batch, sharding)
    return jax.tree.map(lambda x: self._from_global(np.asarray(x), sharding), batch)

  @staticmethod
  def _from_global(value: np.ndarray, sharding: NamedSharding) -> jax.Array:
    return jax.make_array_from_callback(value.shape, sharding, lambda index: value[index])


def local_copy(tree: Any) -> Any:
  """A replicated tree as single-device arrays on this process's first
  device (no copy): for acting, which runs on one device per process."""
  def local(x):
    if isinstance(x, jax.Array) and len(x.sharding.device_set) > 1:
      if not x.is_fully_replicated:
        raise ValueError(f"expected a replicated array; got sharding {x.sharding}")
      return x.addressable_data(0)
    return x
  return jax.tree.map(local, tree)


def to_host(tree: Any) -> Any:
  """A replicated tree as numpy arrays (works across processes)."""
  return jax.device_get(local_copy(tree))
