"""Runs in a fresh process (device count and `jax.distributed` are set up
before JAX starts), so the tests in this folder launch it with a timeout.

  python scale_worker.py sharded DATA_DIR
  python scale_worker.py multihost DATA_DIR PORT PROCESS_ID NUM_PROCESSES OUT_DIR

Every check is an assert: a failure exits non-zero with the traceback.
"""

import dataclasses
import os
import sys

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import jax  # noqa: E402
from jax.experimental import multihost_utils  # noqa: E402
import numpy as np  # noqa: E402

import pa_rl as ljx  # noqa: E402
from pa_rl.agents import calql  # noqa: E402
from pa_rl.agents import distributed  # noqa: E402
from pa_rl.agents import learner as learner_lib  # noqa: E402
from pa_rl.agents import parl  # noqa: E402
from pa_rl.agents import update as update_lib  # noqa: E402
from pa_rl.testing import tiny  # noqa: E402

BATCH_SIZE = 16
STEPS = 3


def agents(meta):
  """(name, networks, config, objective) for a PA-RL and a Cal-QL agent."""
  parl_networks = parl.make_networks(meta, policy_type="gaussian",
                                     policy_config=tiny.POLICY_CONFIGS["gaussian"],
                                     critic_config=tiny.CRITIC_CONFIGS["ensemble"])
  parl_config = parl.PARLConfig(batch_size=BATCH_SIZE, num_cql_actions=2,
                                action_optimization=tiny.ACTION_OPTIMIZATION)
  calql_networks = calql.make_networks(meta, policy_config=tiny.POLICY_CONFIGS["gaussian"],
                                       critic_config=tiny.CRITIC_CONFIGS["ensemble"])
  calql_config = calql.CalQLConfig(batch_size=BATCH_SIZE, num_cql_actions=2)
  return [("parl", parl_networks, parl_config, parl.PARLBuilder.objective_for(parl_config)),
          ("calql", calql_networks, calql_config,
           calql.CalQLBuilder.objective_for(calql_config))]


def flat(tree):
  return np.concatenate([np.ravel(x) for x in jax.tree.leaves(distributed.to_host(tree))])


def assert_replicated(tree, num_devices):
  for leaf in jax.tree.leaves(tree):
    assert leaf.sharding.is_fully_replicated, leaf.sharding
    assert len(leaf.sharding.device_set) == num_devices, leaf.sharding


def sharded(data_dir):
  devices = jax.devices()
  assert len(devices) == 8, devices
  assert jax.config.jax_threefry_partitionable
  # Random numbers drawn under a batch sharding equal the unsharded ones.
  par = distributed.DataParallel()
  draw = lambda key: jax.random.uniform(key, (BATCH_SIZE, 3))
  key = jax.random.PRNGKey(7)
  np.testing.assert_array_equal(
      jax.jit(draw, out_shardings=par.batch_sharding)(key), jax.jit(draw)(key))

  dataset = ljx.OfflineDataset.load_from_path(data_dir, seed=3)
  for name, networks, config, objective in agents(dataset.shape_meta):
    one = learner_lib.Learner(networks, config, objective, dataset, seed=1,
                              devices=devices[:1])
    eight = learner_lib.Learner(networks, config, objective, dataset, seed=1)
    assert eight.mesh.shape == {"data": 8}, eight.mesh
    # One device is the plain jitted update, bit for bit.
    plain = jax.jit(update_lib.make_update_step(networks.policy, networks.critic, config,
                                                objective))
    state, data = one.state, dataset
    for _ in range(STEPS):
      if name == "calql":
        data, batch = data.sample(BATCH_SIZE)
        state, _ = plain(state, batch)
      one.step()
      eight.step()
    if name == "calql":
      np.testing.assert_array_equal(flat(state), flat(one.state))
    # Eight devices: the same update up to the order of float sums.
    np.testing.assert_allclose(flat(eight.state), flat(one.state), rtol=1e-4, atol=1e-5,
                               err_msg=name)
    m1, m8 = one.metrics, eight.metrics
    assert m1.keys() == m8.keys()
    for k in m1:
      np.testing.assert_allclose(m8[k], m1[k], rtol=1e-3, atol=1e-4, err_msg=f"{name} {k}")
    assert_replicated(eight.state, 8)
    assert_replicated(eight._metrics, 8)  # pylint: disable=protected-access
    # Actors get single-device copies.
    policy, critic = eight.get_variables(["policy", "critic"])
    for leaf in jax.tree.leaves((policy, critic)):
      assert len(leaf.sharding.device_set) == 1
    print(f"{name}: max |sharded - single| = "
          f"{np.max(np.abs(flat(eight.state) - flat(one.state))):.2e}")

  # Fused updates (`step(n)`): each of the n batches is split over the
  # devices, and the result is n single updates on the rows of one draw.
  name, networks, config, objective = agents(dataset.shape_meta)[1]
  plain = jax.jit(update_lib.make_update_step(networks.policy, networks.critic, config,
                                              objective))
  one = learner_lib.Learner(networks, config, objective, dataset, seed=1, devices=devices[:1])
  eight = learner_lib.Learner(networks, config, objective, dataset, seed=1)
  state = one.state
  _, rows = dataset.sample(STEPS * BATCH_SIZE)
  for i in range(STEPS):
    state, _ = plain(state, jax.tree.map(
        lambda x, i=i: x[i * BATCH_SIZE:(i + 1) * BATCH_SIZE], rows))
  one.step(STEPS)
  eight.step(STEPS)
  assert int(distributed.to_host(eight.state.step)) == STEPS
  np.testing.assert_allclose(flat(one.state), flat(state), rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(flat(eight.state), flat(state), rtol=1e-4, atol=1e-5)
  assert_replicated(eight.state, 8)
  print(f"fused: max |sharded - sequential| = "
        f"{np.max(np.abs(flat(eight.state) - flat(state))):.2e}")

  # A batch that does not split over the devices is refused, naming both numbers.
  name, networks, config, objective = agents(dataset.shape_meta)[0]
  bad = dataclasses.replace(config, batch_size=12)
  try:
    learner_lib.Learner(networks, bad, objective, dataset)
  except ValueError as e:
    assert "batch_size=12" in str(e) and "8 data devices" in str(e), e
  else:
    raise AssertionError("batch_size=12 on 8 devices was accepted")
  print("sharded ok")


def multihost(data_dir, port, process_id, num_processes, out_dir):
  distributed.initialize(f"127.0.0.1:{port}", num_processes, process_id,
                         initialization_timeout=60)
  assert jax.process_count() == num_processes
  num_devices = len(jax.devices())
  assert num_devices == num_processes * len(jax.local_devices()) > num_processes
  dataset = ljx.OfflineDataset.load_from_path(data_dir, seed=3)
  name, networks, config, objective = agents(dataset.shape_meta)[0]
  learner = learner_lib.Learner(networks, config, objective, dataset, seed=1)
  assert learner.mesh.devices.size == num_devices
  for _ in range(STEPS):
    learner.step()
  learner.flush()
  assert_replicated(learner.state, num_devices)
  metrics = learner.metrics
  assert np.isfinite(metrics["critic/loss"]) and np.isfinite(metrics["policy/loss"])
  assert int(distributed.to_host(learner.state.step)) == STEPS
  params = flat((learner.state.policy_params, learner.state.critic_params))
  np.save(os.path.join(out_dir, f"params_{process_id}.npy"), params)
  if process_id == 0:
    # The same global batches on this process's first device alone.
    reference = learner_lib.Learner(networks, config, objective, dataset, seed=1,
                                    devices=jax.local_devices()[:1])
    for _ in range(STEPS):
      reference.step()
    np.save(os.path.join(out_dir, "reference.npy"),
            flat((reference.state.policy_params, reference.state.critic_params)))
    learner.save_checkpoint(os.path.join(out_dir, "ckpt.npz"))
  # Every process resumes from process 0's checkpoint and trains on.
  multihost_utils.sync_global_devices("checkpoint written")
  learner.restore_checkpoint(os.path.join(out_dir, "ckpt.npz"))
  assert_replicated(learner.state, num_devices)
  learner.step()
  np.save(os.path.join(out_dir, f"resumed_{process_id}.npy"),
          flat((learner.state.policy_params, learner.state.critic_params)))
  distributed.shutdown()
  print(f"process {process_id} ok: checksum {params.sum():.6f}")


if __name__ == "__main__":
  mode, args = sys.argv[1], sys.argv[2:]
  if mode == "sharded":
    sharded(*args)
  elif mode == "multihost":
    multihost(args[0], int(args[1]), int(args[2]), int(args[3]), args[4])
  else:
    raise ValueError(f"mode {mode!r} is unknown; choose one of: sharded, multihost")
