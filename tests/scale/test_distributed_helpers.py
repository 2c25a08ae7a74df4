"""`distributed`'s argument checks and one-device behaviour (in-process)."""

import jax
import numpy as np
import pytest
from jax.sharding import Mesh

from pa_rl.agents import distributed


@pytest.mark.parametrize("address, num_processes, process_id, message", [
    ("127.0.0.1", 2, 0, "must be 'host:port'"),
    ("127.0.0.1:99999", 2, 0, "must be 'host:port'"),
    ("127.0.0.1:1234", 0, 0, "num_processes must be a positive int"),
    ("127.0.0.1:1234", 2, 2, r"process_id=2 must be in \[0, 2\)"),
])
def test_initialize_rejects_bad_arguments(address, num_processes, process_id, message):
  with pytest.raises(ValueError, match=message):
    distributed.initialize(address, num_processes, process_id)


def test_mesh_checks():
  device = jax.devices()[0]
  with pytest.raises(ValueError, match="mesh or devices, not both"):
    distributed.DataParallel(mesh=distributed.make_mesh(), devices=[device])
  with pytest.raises(ValueError, match="no 'data' axis"):
    distributed.DataParallel(mesh=Mesh(np.array([device]), ("model",)))
  with pytest.raises(ValueError, match="lists a device twice"):
    distributed.make_mesh([device, device])
  with pytest.raises(ValueError, match="devices is empty"):
    distributed.make_mesh([])


def test_one_device_round_trip():
  parallel = distributed.DataParallel(devices=jax.devices()[:1])
  assert parallel.num_data_devices == 1 and not parallel.multi_process
  parallel.check_batch_size(7)  # Any batch size splits over one device.
  tree = {"w": np.arange(6.0, dtype=np.float32).reshape(3, 2), "none": None}
  batch = parallel.shard_batch(tree)
  state = parallel.replicate(tree)
  for x in (batch["w"], state["w"]):
    np.testing.assert_array_equal(x, tree["w"])
    assert x.sharding.device_set == {jax.devices()[0]}
  assert distributed.local_copy(state)["w"] is state["w"]
  np.testing.assert_array_equal(distributed.to_host(state)["w"], tree["w"])
