"""Online fine-tuning with environment workers on Ray (a local instance)."""

import os
import signal
import time

import jax
import numpy as np
import pytest
import ray

from pa_rl import metrics_writer
from pa_rl import runners
from pa_rl.datasets import replay as replay_lib
from pa_rl.runners import episodes as episodes_lib
from tests.binaries.test_experiment_runner import TINY


@pytest.fixture(scope="module")
def ray_local():
  episodes_lib.init_ray(None, num_cpus=2)  # Ray is pinned: failing to start is a failure.
  yield
  ray.shutdown()


@pytest.fixture(scope="module")
def offline_run(two_routes_data, tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("ray") / "offline")
  runners.train_offline(workdir, two_routes_data, num_steps=2, checkpoint_every=2, **TINY)
  return workdir


@pytest.fixture(scope="module")
def ray_run(ray_local, offline_run, tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("ray") / "online")
  summary = runners.finetune_online(
      workdir, offline_run, num_episodes=6, num_workers=2, eval_every=0, checkpoint_every=3,
      agent_config={"replay_capacity": 100, "utd_ratio": 2}, env_kwargs={"max_steps": 4}, seed=1)
  return workdir, summary


def test_two_ray_workers_feed_the_learner_at_its_update_to_data_ratio(ray_run):
  workdir, summary = ray_run
  rows = metrics_writer.read_csv(os.path.join(workdir, "online.csv"))
  assert [r["online/episode"] for r in rows] == [1, 2, 3, 4, 5, 6]
  env_steps = rows[-1]["online/env_steps"]
  assert env_steps == sum(r["online/length"] for r in rows) and env_steps > 0
  assert rows[-1]["online/replay_size"] == env_steps  # Every transition arrived, once.
  assert summary["step"] == 2 + 2 * env_steps  # Offline steps + UTD 2 per transition.
  assert os.path.exists(os.path.join(workdir, "checkpoints", f"ckpt_{summary['step']}.npz"))


def test_workers_pull_new_parameters_and_a_killed_worker_is_replaced(ray_run, capsys):
  workdir, _ = ray_run
  spec = runners.read_spec(workdir)
  dataset = spec.load_dataset(0)
  learner = spec.make_builder(dataset.shape_meta).make_learner(dataset, seed=0)
  variables = episodes_lib.variables_of(learner)
  source = episodes_lib.RayEpisodes(spec, dataset.shape_meta, variables, num_workers=2, seed=5,
                                    episode=0)
  try:
    stats, transitions = source.next()
    assert sum(len(t.reward) for t in transitions) == stats["length"] > 0
    # New parameters reach the workers: the policy's output layer zeroed, so
    # the episodes after the publish act with version 2. The put is waited
    # for: an episode that starts before it lands may still pull version 1
    # (with cached compiles the workers' tiny episodes take milliseconds).
    zeroed = jax.tree.map(np.zeros_like, variables["policy"])
    ray.get(source.publish({**variables, "policy": zeroed}))
    versions = []
    for _ in range(4):
      source.next()
      versions.append(source.last_version)
    assert versions[-1] == source.version == 2

    # Everything that arrives from here on goes into a replay buffer.
    buffer = replay_lib.ReplayBuffer.create(dataset.shape_meta, capacity=1000)
    received = []

    def take():
      stats, transitions = source.next()  # Whole episodes only, never a partial one.
      assert sum(len(t.reward) for t in transitions) == stats["length"]
      for batch in transitions:
        received.append(np.asarray(batch.reward))
      return transitions

    victim = source.workers[0]
    os.kill(ray.get(victim.pid.remote()), signal.SIGKILL)
    deadline, seen = time.time() + 120, 0
    while source.restarts == 0 and time.time() < deadline:
      for batch in take():
        buffer = buffer.insert(batch)
      seen += 1
    assert source.restarts == 1, f"no restart seen after {seen} episodes"
    assert source.workers[0] is not victim
    for _ in range(3):  # Both slots keep producing.
      for batch in take():
        buffer = buffer.insert(batch)
    assert "environment worker 0 died" in capsys.readouterr().out
    # The buffer holds exactly what arrived, in order: nothing lost or doubled.
    expected = np.concatenate(received)
    assert buffer.size == buffer.total_inserted == len(expected)
    np.testing.assert_array_equal(np.asarray(buffer.storage.reward[:buffer.size]), expected)
  finally:
    source.close()
