"""The learner beyond one device: eight CPU devices in one process, and two
processes on localhost training together through `jax.distributed`.

Each case runs `scale_worker.py` in fresh processes (the device count and
the distributed runtime must be set before JAX starts), bounded by a timeout
so a hang fails the test instead of blocking.
"""

import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from pa_rl.testing import fakes

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scale_worker.py")
TIMEOUT_S = 420  # Generous: a loaded 2-core CI machine is several times slower.


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
  path = str(tmp_path_factory.mktemp("data") / "ds")
  fakes.write_dataset(path, (8, 8, 8))
  return path


def _env(num_cpu_devices):
  env = dict(os.environ)
  # Cheaper compiles (half the test's time); every comparison is between
  # programs compiled alike.
  flags = (f"--xla_force_host_platform_device_count={num_cpu_devices} "
           "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true")
  env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} {flags}".strip()
  env["JAX_PLATFORMS"] = "cpu"
  return env


def _free_port():
  with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _run_all(commands, env):
  """Runs the commands concurrently; returns their outputs, or fails (killing
  every one of them) on a timeout or a non-zero exit."""
  procs = [subprocess.Popen(c, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True) for c in commands]
  outputs = []
  try:
    for proc in procs:
      try:
        outputs.append(proc.communicate(timeout=TIMEOUT_S)[0])
      except subprocess.TimeoutExpired:
        pytest.fail(f"{proc.args} ran past {TIMEOUT_S} s")
  finally:
    for proc in procs:
      if proc.poll() is None:
        proc.kill()
        proc.communicate()
  for proc, out in zip(procs, outputs):
    assert proc.returncode == 0, f"{proc.args} exited {proc.returncode}:\n{out[-6000:]}"
  return outputs


def test_eight_devices_match_one_device(data_dir):
  """PA-RL and Cal-QL updates on a batch sharded over 8 devices equal the
  one-device update on the same global batch; the state stays replicated;
  a batch size that does not split over the devices is refused."""
  out, = _run_all([[sys.executable, WORKER, "sharded", data_dir]], _env(8))
  assert "sharded ok" in out


def test_two_processes_train_together(data_dir, tmp_path):
  """Two processes (two CPU devices each) on 127.0.0.1 train one learner and
  end with the same parameters, equal to one device on the same batches;
  both resume from one process's checkpoint."""
  port = _free_port()
  commands = [[sys.executable, WORKER, "multihost", data_dir, str(port), str(i), "2",
               str(tmp_path)] for i in range(2)]
  outputs = _run_all(commands, _env(2))
  assert all("ok: checksum" in out for out in outputs)
  first, second = (np.load(tmp_path / f"params_{i}.npy") for i in range(2))
  np.testing.assert_array_equal(first, second)
  np.testing.assert_allclose(first, np.load(tmp_path / "reference.npy"), rtol=1e-4, atol=1e-5)
  # Both resumed from process 0's checkpoint and took one more step together.
  np.testing.assert_array_equal(np.load(tmp_path / "resumed_0.npy"),
                                np.load(tmp_path / "resumed_1.npy"))
